//! Files the user names with `-o` (`artifacts get` here; `predict` and
//! `models card` in registry.rs): an existing regular file is replaced,
//! anything else at the path is refused and left alone, no file of the
//! user's is used as scratch space, `-` is standard output.

use crate::support::*;
use bytes::Bytes;
use sluice::artifacts::ArtifactStore;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A home whose store holds one artifact; its digest and bytes.
fn home_with_artifact(home: &Path) -> (String, Vec<u8>) {
    std::fs::create_dir_all(home).unwrap();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let digest = tokio::runtime::Runtime::new().unwrap().block_on(async {
        ArtifactStore::local(home)
            .unwrap()
            .put(Bytes::from(bytes.clone()))
            .await
            .unwrap()
    });
    (digest.to_hex(), bytes)
}

fn get(home: &Path, digest: &str, output: &Path) -> std::process::Output {
    sluice(home)
        .args(["artifacts", "get", digest, "-o"])
        .arg(output)
        .output()
        .unwrap()
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn artifacts_get_replaces_a_regular_file_and_leaves_the_user_s_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (digest, bytes) = home_with_artifact(&home);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();

    // A file of the user's named like the old scratch file survives.
    let target = out_dir.join("model.bin");
    let theirs = out_dir.join("model.sluice-partial");
    std::fs::write(&theirs, b"mine").unwrap();
    let out = get(&home, &digest, &target);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert_eq!(std::fs::read(&theirs).unwrap(), b"mine");
    assert_eq!(names(&out_dir), ["model.bin", "model.sluice-partial"]);

    // An existing regular file is replaced, its permissions kept.
    std::fs::write(&target, b"old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = get(&home, &digest, &target);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(names(&out_dir), ["model.bin", "model.sluice-partial"]);

    // A bare file name is written in the current directory.
    let mut bare = sluice(&home).args(["artifacts", "get", &digest, "-o", "bare.bin"]);
    bare.0.current_dir(&out_dir);
    let out = bare.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(out_dir.join("bare.bin")).unwrap(), bytes);
}

#[test]
fn artifacts_get_refuses_a_symlink_a_fifo_and_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (digest, _) = home_with_artifact(&home);

    let pointee = dir.path().join("pointee");
    std::fs::write(&pointee, b"untouched").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&pointee, &link).unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let directory = dir.path().join("directory");
    std::fs::create_dir(&directory).unwrap();

    for (target, what) in [
        (&link, "a symbolic link"),
        (&fifo, "a FIFO"),
        (&directory, "a directory"),
    ] {
        let out = get(&home, &digest, target);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "refusing to write {}: it is {what}",
                target.display()
            )),
            "{err}"
        );
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read(&pointee).unwrap(), b"untouched");
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::metadata(&fifo).unwrap().file_type()
    ));
    assert_eq!(names(&directory), Vec::<String>::new());
    assert_eq!(
        names(dir.path()),
        ["directory", "fifo", "home", "link", "pointee"]
    );
}

#[test]
fn artifacts_get_to_dash_writes_the_exact_bytes_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (digest, bytes) = home_with_artifact(&home);
    let out = sluice(&home)
        .args(["artifacts", "get", &digest, "-o", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, bytes);
    assert!(!root().join("-").exists());
}
