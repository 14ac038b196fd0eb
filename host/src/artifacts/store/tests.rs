//! Unit tests of the artifact store: the conformance suite on local files
//! and in memory, and the local layout.

use super::*;
use object_store::memory::InMemory;

fn object_file(root: &Path, digest: &ArtifactDigest) -> std::path::PathBuf {
    let hex = digest.to_hex();
    root.join("artifacts/sha256").join(&hex[..2]).join(hex)
}

/// The shared conformance suite, on the local file system.
#[tokio::test]
async fn conformance_on_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(dir.path()).unwrap();
    super::super::conformance::run_all(&store).await;
}

/// The shared conformance suite, in memory.
#[tokio::test]
async fn conformance_in_memory() {
    let store = ArtifactStore::new(Arc::new(InMemory::new()), "mem");
    super::super::conformance::run_all(&store).await;
}

#[tokio::test]
async fn local_layout_is_home_artifacts_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(&dir.path().join("store")).unwrap();
    let digest = store.put(Bytes::from_static(b"model bytes")).await.unwrap();
    assert_eq!(digest, ArtifactDigest::of(b"model bytes"));
    assert!(object_file(&dir.path().join("store"), &digest).is_file());
    assert_eq!(
        store.describe(),
        format!("{}/artifacts", dir.path().join("store").display())
    );
}

#[tokio::test]
async fn an_existing_object_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(dir.path()).unwrap();
    let first = store.put(Bytes::from_static(b"x")).await.unwrap();
    let file = object_file(dir.path(), &first);
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    store.put(Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        modified,
        "an existing object is not rewritten"
    );
}

#[tokio::test]
async fn stray_files_are_not_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::local(dir.path()).unwrap();
    let digest = store.put(Bytes::from_static(b"kept")).await.unwrap();
    let hex = digest.to_hex();
    // A digest-named file in the wrong fan-out directory, and junk.
    let wrong = dir.path().join("artifacts/sha256/zz");
    std::fs::create_dir_all(&wrong).unwrap();
    std::fs::write(wrong.join(&hex), b"kept").unwrap();
    std::fs::write(wrong.join("notes.txt"), b"junk").unwrap();
    assert_eq!(store.list().await.unwrap(), [digest]);
}
