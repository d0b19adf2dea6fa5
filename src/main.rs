//! The `klgrid` command. Errors are reported here, once, as one line on stderr.

mod cli;

use clap::Parser;
use cli::{exit, Cli, Command};
use klgrid::Error;

fn main() {
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
            // One line: clap's first line, plus where to look.
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("klgrid: error: {first} (see klgrid --help)");
            std::process::exit(exit::INPUT);
        }
    };
    let result = match &cli.command {
        Command::Sweep(a) => cli::sweep::run(a),
        Command::Demo(a) => cli::demo::run(a),
        Command::Adapters => Ok(cli::adapters::run()),
        Command::Families => Ok(cli::families::run()),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("klgrid: error: {e}");
            match e {
                Error::Input(_) | Error::Io { .. } => exit::INPUT,
                _ => exit::RUNTIME,
            }
        }
    };
    std::process::exit(code);
}
