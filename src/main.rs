//! The `klgrid` command. Errors are reported here, once, as one line on stderr.

mod cli;

use clap::Parser;
use cli::{exit, Cli, Command};

fn main() {
    // Standard streams guarded and XDG_RUNTIME_DIR set, before any thread starts.
    cli::output::init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        exit::INPUT
                    } else {
                        0
                    },
                );
            }
            // One line: clap's message without its usage and help hints.
            let text = e.render().to_string();
            let msg: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            let msg = msg.join(" ");
            let msg = msg.trim_start_matches("error: ");
            cli::output::note(&format!("error: {msg} (see klgrid --help)"));
            std::process::exit(exit::INPUT);
        }
    };
    let result = match &cli.command {
        Command::Sweep(a) => cli::sweep::run(a),
        Command::Demo(a) => cli::demo::run(a),
        Command::Merge(a) => cli::merge::run(a),
        Command::Bench(a) => cli::bench::run(a),
        Command::Adapters => cli::adapters::run(),
        Command::Families(a) => cli::families::run(a),
        Command::Models(a) => cli::models::run(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => cli::output::report_error(&e),
    };
    std::process::exit(code);
}
