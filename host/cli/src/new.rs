//! `sluice new --lang LANG --kind KIND NAME`: a ready-to-build plugin project.

use super::output::outln;
use clap::{Args, ValueEnum};
use sluice::authoring::{Lang, templates};
use sluice::runtime::World;
use std::path::PathBuf;
use std::process::ExitCode;

/// The languages of `--lang`: [`Lang`]'s, in its order.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    Rust,
    Python,
    Js,
    C,
}

impl From<LangArg> for Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::Rust => Lang::Rust,
            LangArg::Python => Lang::Python,
            LangArg::Js => Lang::Js,
            LangArg::C => Lang::C,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Validator,
    Transform,
    Trainer,
    Explainer,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's language.
    #[arg(long)]
    pub lang: LangArg,
    /// The world the plugin implements.
    #[arg(long)]
    pub kind: Kind,
    /// The plugin's name (lowercase letters, digits, '-').
    pub name: String,
    /// Where to create the project (default ./NAME).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// A local sdk-rust folder for a Rust plugin to build against, in place
    /// of the published sluice-sdk crate it depends on (a
    /// `[patch.crates-io]` entry in its Cargo.toml).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

pub fn run(args: NewArgs) -> anyhow::Result<ExitCode> {
    let world = match args.kind {
        Kind::Validator => World::Validator,
        Kind::Transform => World::Transform,
        Kind::Trainer => World::Trainer,
        Kind::Explainer => World::Explainer,
    };
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let files = templates::generate(
        &dir,
        &args.name,
        args.lang.into(),
        world,
        args.sdk.as_deref(),
    )?;
    outln!(
        "created {} ({} {world}):",
        dir.display(),
        Lang::from(args.lang).name()
    );
    for f in files {
        outln!("  {}", f.display());
    }
    if matches!(Lang::from(args.lang), Lang::Rust) && args.sdk.is_none() {
        outln!(
            "it depends on sluice-sdk {} from crates.io; --sdk PATH builds it against a local \
             sdk-rust folder instead",
            sluice::authoring::templates::SDK_VERSION
        );
    }
    outln!(
        "next: sluice build {0} && sluice plugin test {0}/build/{1}.wasm",
        dir.display(),
        args.name.replace('-', "_")
    );
    Ok(ExitCode::SUCCESS)
}
