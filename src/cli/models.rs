//! Models written as expressions: the `--model` / `--logpdf` options of `sweep` and `bench`,
//! and `klgrid models check`.

use clap::{Args, Subcommand};
use klgrid::model::expr::{self, ModelSpec};
use klgrid::model::grid::Grid;
use klgrid::model::Family;
use klgrid::{Error, Result};
use std::path::PathBuf;

/// The model options, alternatives to `--family`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A model written as an expression, from a TOML file (name, logpdf, params, support,
    /// discrete, normalise); see README "Your own model"
    #[arg(long, value_name = "FILE.toml", conflicts_with = "logpdf")]
    pub model: Option<PathBuf>,

    /// An inline model: its log-density in x and the parameters, e.g.
    /// '-log(sigma) - 0.5*log(2*pi) - (x - mu)^2/(2*sigma^2)'
    #[arg(
        long,
        value_name = "EXPR",
        requires = "params",
        allow_hyphen_values = true
    )]
    pub logpdf: Option<String>,

    /// With --logpdf: the parameters and domains, NAME:DOMAIN,... with DOMAIN real, positive,
    /// unit, integer>=1 or an interval such as [0,1] or (0,inf)
    #[arg(long, value_name = "NAME:DOMAIN,...", requires = "logpdf")]
    pub params: Option<String>,

    /// With --logpdf: the support of x, LOW:HIGH (default all reals; 0:inf when discrete)
    #[arg(long, value_name = "LOW:HIGH", requires = "logpdf")]
    pub support: Option<String>,

    /// With --logpdf: x takes integer values (a probability mass function)
    #[arg(long, requires = "logpdf")]
    pub discrete: bool,

    /// With --logpdf: the expression is known up to a constant; divide by Z(θ) = ∫ exp(expr) dx
    /// over the support (a sum for discrete models) at every grid point
    #[arg(long, requires = "logpdf")]
    pub normalise: bool,
}

impl ModelArgs {
    /// The model definition given.
    pub fn spec(&self) -> Result<ModelSpec> {
        match (&self.model, &self.logpdf) {
            (Some(path), _) => ModelSpec::read(path),
            (None, Some(e)) => ModelSpec::inline(
                e,
                self.params.as_deref().unwrap_or(""),
                self.support.as_deref(),
                self.discrete,
                self.normalise,
            ),
            (None, None) => Err(Error::input(
                "give --family NAME, --model FILE or --logpdf EXPR",
            )),
        }
    }

    /// The compiled model.
    pub fn build(&self) -> Result<&'static dyn Family> {
        Ok(expr::build(&self.spec()?)?)
    }
}

/// For a user model, every grid value must lie in its parameter's domain (interval domains are
/// finer than the engine's).
pub fn check_grid(family: &dyn Family, grid: &Grid) -> Result<()> {
    let Some(m) = expr::model_of(family) else {
        return Ok(());
    };
    for a in grid.axes() {
        let p = &m.spec.params[a.param];
        if let Some(v) = a.values.iter().find(|&&v| !p.domain.contains(v)) {
            return Err(Error::input(format!(
                "{}: parameter '{}' must be in {} (grid value {v})",
                m.spec.name,
                p.name,
                p.domain.describe()
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Validate a model file and print its split (a, b, features, constants, kernel, centring,
    /// sufficient statistics) without data
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The model file (TOML)
    #[arg(value_name = "FILE.toml", required_unless_present = "logpdf")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub inline: ModelArgs,
}

pub fn run(args: &ModelsArgs) -> Result<i32> {
    let ModelsCommand::Check(c) = &args.command;
    let spec = match &c.file {
        Some(p) => ModelSpec::read(p)?,
        None => c.inline.spec()?,
    };
    let m = expr::build(&spec)?;
    print!("{}", m.describe());
    Ok(0)
}
