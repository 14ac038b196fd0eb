//! `sluice build DIR`: a plugin project into a component, per language.
//!
//! A build is skipped when the output exists and a digest of its inputs
//! (the project's files, the contract, the helper files, the language, the
//! world) matches the one stored beside it in `OUT.inputs`: Python and
//! JavaScript builds take tens of seconds, and the test and build scripts
//! call this on every run.

use super::{
    AuthoringError, C_SDK, CONTRACT_WIT, JS_COMPONENTIZE, JS_SDK, Lang, Manifest, PYTHON_SDK, io,
};
use crate::runtime::World;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The component was built (again).
    Built,
    /// No input changed since the last build: nothing was done.
    UpToDate,
}

/// The default output: `DIR/build/NAME.wasm` ('-' -> '_').
pub fn default_output(dir: &Path, name: &str) -> PathBuf {
    dir.join("build")
        .join(format!("{}.wasm", name.replace('-', "_")))
}

/// Build the project in `dir` into the component `out`.
pub fn build(dir: &Path, out: Option<&Path>) -> Result<(PathBuf, BuildOutcome), AuthoringError> {
    let (manifest, world) = Manifest::read(dir)?;
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_output(dir, &manifest.name));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    if manifest.lang == Lang::Rust {
        build_rust(dir, &manifest, &out)?;
        return Ok((out, BuildOutcome::Built));
    }
    let digest = inputs_digest(dir, &manifest, &out)?;
    let stamp = out.with_extension("wasm.inputs");
    if out.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        return Ok((out, BuildOutcome::UpToDate));
    }
    // Scratch files (the contract, helpers, generated bindings) live beside
    // the output, never in the project's source.
    // Each build starts from an empty scratch directory, removed after it,
    // failed or not.
    let work = out.with_extension("build");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("wit")).map_err(io(&work))?;
    let wit = work.join("wit/sluice.wit");
    std::fs::write(&wit, CONTRACT_WIT).map_err(io(&wit))?;
    let built = match manifest.lang {
        Lang::Python => build_python(dir, world, &work, &out),
        Lang::Js => build_js(dir, world, &work, &out),
        Lang::C => build_c(dir, world, &work, &out),
        Lang::Rust => unreachable!("built above"),
    };
    let _ = std::fs::remove_dir_all(&work);
    built?;
    std::fs::write(&stamp, digest).map_err(io(&stamp))?;
    Ok((out, BuildOutcome::Built))
}

fn inputs_digest(dir: &Path, manifest: &Manifest, out: &Path) -> Result<String, AuthoringError> {
    let mut h = Sha256::new();
    for input in [
        env!("CARGO_PKG_VERSION"),
        manifest.lang.name(),
        &manifest.world,
        CONTRACT_WIT,
        PYTHON_SDK,
        JS_COMPONENTIZE,
        JS_SDK,
        C_SDK,
    ] {
        h.update(input.as_bytes());
        h.update([0]);
    }
    // Every file of the project at any depth (local dependencies in
    // `vendor/`, requirements.txt, package.json and its lock included),
    // by its path relative to the project.
    for rel in super::deps::project_files(dir, out)? {
        let f = dir.join(&rel);
        let bytes = std::fs::read(&f).map_err(io(&f))?;
        h.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
        h.update([0]);
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

fn run(mut cmd: Command, what: &str, dir: &Path) -> Result<(), AuthoringError> {
    let output = cmd.output().map_err(|e| AuthoringError::Tool {
        what: what.to_string(),
        path: dir.to_path_buf(),
        output: format!("cannot start {:?}: {e}", cmd.get_program()),
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(AuthoringError::Tool {
        what: what.to_string(),
        path: dir.to_path_buf(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

fn require(dir: &Path, file: &str) -> Result<PathBuf, AuthoringError> {
    let p = dir.join(file);
    if p.is_file() {
        Ok(p)
    } else {
        Err(AuthoringError::Project {
            path: dir.to_path_buf(),
            message: format!("no {file}: a plugin of this language keeps its source there"),
        })
    }
}

pub(super) fn tool(path: PathBuf, name: &'static str) -> Result<PathBuf, AuthoringError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(AuthoringError::MissingTool { tool: name, path })
    }
}

/// componentize-py, module `app`, with `sluice_sdk` on the path, and the
/// packages of `requirements.txt` when there is one (see [`super::deps`]).
/// Every WASI
/// import is replaced by a trapping stub (`--stub-wasi`): CPython's build
/// imports wasi:sockets, which sluice never grants, and a step needs no
/// WASI at all (it logs through `sluice_sdk.log`, the host's `log`).
fn build_python(dir: &Path, world: World, work: &Path, out: &Path) -> Result<(), AuthoringError> {
    require(dir, "app.py")?;
    let py = tool(
        super::tools_dir().join("py/bin/componentize-py"),
        "componentize-py",
    )?;
    let sdk = work.join("sdk");
    std::fs::create_dir_all(&sdk).map_err(io(&sdk))?;
    std::fs::write(sdk.join("sluice_sdk.py"), PYTHON_SDK).map_err(io(&sdk))?;
    let site = super::deps::python(dir, out, work)?;
    let mut cmd = Command::new(py);
    cmd.arg("-d")
        .arg(work.join("wit"))
        .args([
            "-w",
            world.name(),
            "componentize",
            "--stub-wasi",
            "app",
            "-p",
        ])
        .arg(dir)
        .arg("-p")
        .arg(&sdk);
    if let Some(site) = site {
        cmd.arg("-p").arg(site);
    }
    cmd.arg("-o").arg(out);
    run(cmd, "componentize-py", dir)
}

/// componentize-js through a small Node script, HTTP and fetch disabled.
/// componentize-js takes one source file: the plugin's source goes after
/// the sluice_sdk helpers in one file, bundled with its npm packages by
/// esbuild when the project has a `package.json` (see [`super::deps`]).
fn build_js(dir: &Path, world: World, work: &Path, out: &Path) -> Result<(), AuthoringError> {
    let source = require(dir, "plugin.js")?;
    let js = super::tools_dir().join("js");
    tool(
        js.join("node_modules/@bytecodealliance/componentize-js"),
        "componentize-js",
    )?;
    // Node resolves the package next to the script, so the script lives there.
    let script = js.join("componentize.mjs");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(JS_COMPONENTIZE) {
        std::fs::write(&script, JS_COMPONENTIZE).map_err(io(&script))?;
    }
    let combined = work.join("plugin.js");
    let text = std::fs::read_to_string(&source).map_err(io(&source))?;
    let source = format!("{JS_SDK}\n{text}");
    if !super::deps::js(dir, out, work, &source)? {
        std::fs::write(&combined, source).map_err(io(&combined))?;
    }
    // componentize-js reads the source under its working directory only:
    // run it in the (canonical) scratch directory.
    let work = work.canonicalize().map_err(io(work))?;
    let out = std::path::absolute(out).map_err(io(out))?;
    let mut cmd = Command::new("node");
    cmd.current_dir(&work)
        .arg(&script)
        .arg("plugin.js")
        .arg(work.join("wit"))
        .arg(world.name())
        .arg(out);
    run(cmd, "componentize-js", dir)
}

/// clang (wasm32-wasi, reactor) over the project's `.c` files and the
/// bindings `wit-bindgen c` generates, then the core module becomes a
/// component with the wasi_snapshot_preview1 reactor adapter.
fn build_c(dir: &Path, world: World, work: &Path, out: &Path) -> Result<(), AuthoringError> {
    require(dir, "plugin.c")?;
    let (resolve, world_id) = contract(world).map_err(|e| AuthoringError::Project {
        path: dir.to_path_buf(),
        message: format!("the contract: {e:#}"),
    })?;
    let mut files = wit_bindgen_core::Files::default();
    let opts = wit_bindgen_c::Opts {
        no_object_file: true,
        ..Default::default()
    };
    opts.build()
        .generate(&resolve, world_id, &mut files)
        .map_err(|e| AuthoringError::Project {
            path: dir.to_path_buf(),
            message: format!("wit-bindgen c: {e:#}"),
        })?;
    let mut sources: Vec<PathBuf> = Vec::new();
    for (name, bytes) in files.iter() {
        let p = work.join(name);
        std::fs::write(&p, bytes).map_err(io(&p))?;
        if name.ends_with(".c") {
            sources.push(p);
        }
    }
    // The bindings reference the symbol of the type object wit-bindgen would
    // write; the type information is embedded below instead.
    // sluice_sdk.h, and sluice_world.h that binds it to this world's names.
    let w = world.name();
    let world_h = format!(
        "#include \"{w}.h\"\ntypedef {w}_string_t sluice_string_t;\n#define SLUICE_STRING_DUP {w}_string_dup\n"
    );
    for (name, text) in [
        ("sluice_sdk.h", C_SDK),
        ("sluice_world.h", world_h.as_str()),
    ] {
        std::fs::write(work.join(name), text).map_err(io(work))?;
    }
    let stub = work.join("component_type_stub.c");
    let stub_text = format!(
        "void __component_type_object_force_link_{}(void) {{}}\n",
        world.name()
    );
    std::fs::write(&stub, stub_text).map_err(io(&stub))?;
    sources.push(stub);
    for e in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        if e.path().extension().is_some_and(|x| x == "c") {
            sources.push(e.path());
        }
    }
    sources.sort();
    let core = work.join("core.wasm");
    let sysroot = std::env::var_os("WASI_SYSROOT").unwrap_or_else(|| "/usr".into());
    let mut cmd = Command::new(std::env::var_os("CC_WASM").unwrap_or_else(|| "clang".into()));
    cmd.arg("--target=wasm32-wasi")
        .arg(format!("--sysroot={}", sysroot.to_string_lossy()))
        .args([
            "-O2",
            "-mexec-model=reactor",
            "-Wall",
            "-Werror=implicit-function-declaration",
        ])
        .arg("-I")
        .arg(work)
        .arg("-I")
        .arg(dir)
        .args(&sources)
        .arg("-o")
        .arg(&core);
    run(cmd, "clang (wasm32-wasi)", dir)?;
    let mut module = std::fs::read(&core).map_err(io(&core))?;
    let componentize = |e: anyhow::Error| AuthoringError::Tool {
        what: "making a component of the core module".into(),
        path: dir.to_path_buf(),
        output: format!("{e:#}"),
    };
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world_id,
        wit_component::StringEncoding::UTF8,
    )
    .map_err(componentize)?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|enc| {
            enc.validate(true).adapter(
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|mut enc| enc.encode())
        .map_err(componentize)?;
    std::fs::write(out, component).map_err(io(out))
}

fn contract(
    world: World,
) -> anyhow::Result<(
    wit_bindgen_core::wit_parser::Resolve,
    wit_bindgen_core::wit_parser::WorldId,
)> {
    let mut resolve = wit_bindgen_core::wit_parser::Resolve::default();
    let pkg = resolve.push_str("sluice.wit", CONTRACT_WIT)?;
    let id = resolve.select_world(&[pkg], Some(world.name()))?;
    Ok((resolve, id))
}

/// `cargo build --release --target wasm32-wasip2` and copy the component.
fn build_rust(dir: &Path, manifest: &Manifest, out: &Path) -> Result<(), AuthoringError> {
    require(dir, "Cargo.toml")?;
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(dir.join("Cargo.toml"));
    run(cmd, "cargo build", dir)?;
    let meta = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .output()
        .map_err(io(dir))?;
    let target: PathBuf = serde_json::from_slice::<serde_json::Value>(&meta.stdout)
        .ok()
        .and_then(|v| v["target_directory"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| dir.join("target"));
    let built = target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", manifest.name.replace('-', "_")));
    std::fs::copy(&built, out).map_err(io(&built))?;
    Ok(())
}
