//! `klgrid families`.

use clap::Args;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::{Family, REGISTRY};

#[derive(Debug, Args)]
pub struct FamiliesArgs {
    /// Output format: a list for people, or the Markdown table README.md carries
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "markdown"])]
    pub format: String,
}

/// Whether the family has a closed-form MLE (probed on data drawn from its example θ) and an
/// entropy formula.
fn capabilities(f: &'static dyn Family) -> (bool, bool) {
    let theta = f.example_theta();
    let spec = SampleSpec {
        family: f,
        theta: theta.clone(),
    };
    let fixed: Vec<Option<f64>> = f
        .params()
        .iter()
        .zip(&theta)
        .map(|(p, &v)| (p.domain == klgrid::model::Domain::PositiveInteger).then_some(v))
        .collect();
    let mle = spec
        .draw(1000, 1)
        .ok()
        .and_then(|xs| f.mle(&xs, &fixed))
        .is_some();
    (mle, f.entropy(&theta).is_some())
}

/// Prints every family with its parameters, support, tolerance and closed forms.
pub fn run(args: &FamiliesArgs) -> i32 {
    let yes = |b: bool| if b { "yes" } else { "no" };
    if args.format == "markdown" {
        println!(
            "| family | parameters (domain) | support | tolerance | closed-form MLE | entropy |"
        );
        println!("|---|---|---|---|---|---|");
        for f in REGISTRY {
            let params: Vec<String> = f
                .params()
                .iter()
                .map(|p| format!("{} ({})", p.name, p.domain.describe()))
                .collect();
            let (mle, entropy) = capabilities(*f);
            println!(
                "| `{}` | {} | {} | {:.0e} | {} | {} |",
                f.name(),
                params.join(", "),
                f.support(),
                f.kernel_class().tolerance(),
                yes(mle),
                yes(entropy)
            );
        }
        return 0;
    }
    for f in REGISTRY {
        let params: Vec<String> = f
            .params()
            .iter()
            .map(|p| format!("{} ({})", p.name, p.domain.describe()))
            .collect();
        let (mle, entropy) = capabilities(*f);
        println!("{}", f.name());
        println!("    parameters  {}", params.join(", "));
        println!(
            "    support     {}{}",
            f.support(),
            if f.integer_data() {
                " (integer data)"
            } else {
                ""
            }
        );
        println!(
            "    tolerance   {:.0e} relative (gpu vs cpu-ref mean log-likelihood)",
            f.kernel_class().tolerance()
        );
        println!("    closed-form MLE {}, entropy {}", yes(mle), yes(entropy));
    }
    0
}
