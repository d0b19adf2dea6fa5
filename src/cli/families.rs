//! `klgrid families`.

use super::output;
use clap::Args;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::{Family, REGISTRY};
use klgrid::Result;
use std::io::Write;

#[derive(Debug, Args)]
pub struct FamiliesArgs {
    /// Output format: a list for people, or the Markdown table README.md carries
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// Output format of `families`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// A list for people.
    Text,
    /// The Markdown table of README.md.
    Markdown,
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
pub fn run(args: &FamiliesArgs) -> Result<i32> {
    output::stdout(|w| write(args, w))?;
    Ok(0)
}

fn write(args: &FamiliesArgs, w: &mut dyn Write) -> std::io::Result<()> {
    let yes = |b: bool| if b { "yes" } else { "no" };
    if args.format == ListFormat::Markdown {
        writeln!(
            w,
            "| family | parameters (domain) | support | tolerance | closed-form MLE | entropy |"
        )?;
        writeln!(w, "|---|---|---|---|---|---|")?;
        for f in REGISTRY {
            let params: Vec<String> = f
                .params()
                .iter()
                .map(|p| format!("{} ({})", p.name, p.domain.describe()))
                .collect();
            let (mle, entropy) = capabilities(*f);
            writeln!(
                w,
                "| `{}` | {} | {} | {:.0e} | {} | {} |",
                f.name(),
                params.join(", "),
                f.support(),
                f.kernel_class().tolerance(),
                yes(mle),
                yes(entropy)
            )?;
        }
        return Ok(());
    }
    for f in REGISTRY {
        let params: Vec<String> = f
            .params()
            .iter()
            .map(|p| format!("{} ({})", p.name, p.domain.describe()))
            .collect();
        let (mle, entropy) = capabilities(*f);
        writeln!(w, "{}", f.name())?;
        writeln!(w, "    parameters  {}", params.join(", "))?;
        writeln!(
            w,
            "    support     {}{}",
            f.support(),
            if f.integer_data() {
                " (integer data)"
            } else {
                ""
            }
        )?;
        writeln!(
            w,
            "    tolerance   {:.0e} relative (gpu vs cpu-ref mean log-likelihood)",
            f.kernel_class().tolerance()
        )?;
        writeln!(
            w,
            "    closed-form MLE {}, entropy {}",
            yes(mle),
            yes(entropy)
        )?;
    }
    Ok(())
}
