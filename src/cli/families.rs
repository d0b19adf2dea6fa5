//! `klgrid families`.

use klgrid::family::REGISTRY;

/// Prints every family with its parameters, support and tolerance.
pub fn run() -> i32 {
    for f in REGISTRY {
        let params: Vec<String> = f
            .params()
            .iter()
            .map(|p| format!("{} ({})", p.name, p.domain.describe()))
            .collect();
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
    }
    0
}
