//! One conformance suite for every artifact store backend: the local file
//! system and in-memory stores run it in unit tests, a real S3-compatible
//! server (Garage) in the integration tests (`tests/all/s3.rs`).
//!
//! Each check panics with a message naming the store. [`run_all`] works in
//! a fresh scope of the store it is given, so a shared bucket is fine.

use bytes::Bytes;
use object_store::PutPayload;

use super::{ArtifactDigest, ArtifactError, ArtifactStore, Integrity};

/// Runs every check in a fresh scope `conformance-<uuid>` of `store`.
pub async fn run_all(store: &ArtifactStore) {
    let scope = store.scoped(&format!("conformance-{}", uuid::Uuid::new_v4()));
    assert!(
        scope.list().await.unwrap().is_empty(),
        "a fresh scope of {} is empty",
        scope.describe()
    );
    round_trip(&scope.scoped("round-trip")).await;
    write_once(&scope.scoped("write-once")).await;
    same_bytes_twice(&scope.scoped("same-bytes")).await;
    missing_is_not_found(&scope.scoped("missing")).await;
    corruption_is_detected(&scope.scoped("corrupt")).await;
    a_put_repairs_a_damaged_object(&scope.scoped("repair")).await;
    a_file_is_stored_a_piece_at_a_time(&scope.scoped("file")).await;
    list_and_delete(&scope.scoped("list")).await;
    concurrent_puts_of_the_same_bytes(&scope.scoped("concurrent")).await;
    scopes_do_not_see_each_other(&scope.scoped("scopes")).await;
}

/// Bytes that differ per call site, so checks never share objects.
fn bytes(tag: &str) -> Bytes {
    Bytes::from(format!("sluice conformance {tag} {}", uuid::Uuid::new_v4()).into_bytes())
}

pub async fn round_trip(store: &ArtifactStore) {
    let where_ = store.describe();
    for data in [
        Bytes::new(),
        bytes("small"),
        Bytes::from(vec![7u8; 3 << 20]),
    ] {
        let digest = store.put(data.clone()).await.unwrap();
        assert_eq!(digest, ArtifactDigest::of(&data), "{where_}: digest of put");
        assert!(
            store.exists(&digest).await.unwrap(),
            "{where_}: exists after put"
        );
        assert_eq!(
            store.get(&digest).await.unwrap(),
            data,
            "{where_}: get after put"
        );
    }
}

pub async fn write_once(store: &ArtifactStore) {
    let where_ = store.describe();
    let data = bytes("write-once");
    let digest = store.put(data.clone()).await.unwrap();
    let path = store.object_path(&digest);
    let before = store.object_store().head(&path).await.unwrap();
    // S3 times have one-second resolution: wait past it so a rewrite shows.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(store.put(data.clone()).await.unwrap(), digest);
    let after = store.object_store().head(&path).await.unwrap();
    assert_eq!(
        (before.last_modified, before.e_tag),
        (after.last_modified, after.e_tag),
        "{where_}: an existing artifact is never rewritten"
    );
}

pub async fn same_bytes_twice(store: &ArtifactStore) {
    let where_ = store.describe();
    let data = bytes("twice");
    let a = store.put(data.clone()).await.unwrap();
    let b = store.put(data).await.unwrap();
    assert_eq!(a, b, "{where_}: same bytes, same digest");
    assert_eq!(store.list().await.unwrap(), [a], "{where_}: stored once");
}

pub async fn missing_is_not_found(store: &ArtifactStore) {
    let where_ = store.describe();
    let digest = ArtifactDigest::of(b"never stored by the conformance suite");
    assert!(!store.exists(&digest).await.unwrap(), "{where_}: exists");
    match store.get(&digest).await {
        Err(ArtifactError::NotFound {
            digest: d,
            store: s,
        }) => {
            assert_eq!(d, digest);
            assert_eq!(s, where_);
        }
        other => panic!("{where_}: expected NotFound, got {other:?}"),
    }
    assert_eq!(
        store.check(&digest).await.unwrap(),
        Integrity::Missing,
        "{where_}: check"
    );
    // Deleting what is not there is fine.
    store.delete(&digest).await.unwrap();
}

pub async fn corruption_is_detected(store: &ArtifactStore) {
    let where_ = store.describe();
    let digest = store.put(bytes("original")).await.unwrap();
    let path = store.object_path(&digest);
    store
        .object_store()
        .put(&path, PutPayload::from_static(b"tampered"))
        .await
        .unwrap();
    match store.get(&digest).await {
        Err(err @ ArtifactError::Corrupt { .. }) => {
            let text = err.to_string();
            let ArtifactError::Corrupt {
                digest: d,
                actual,
                object,
                ..
            } = err
            else {
                unreachable!()
            };
            assert_eq!(d, digest, "{where_}");
            assert_eq!(actual, ArtifactDigest::of(b"tampered"), "{where_}");
            assert_eq!(object, path.to_string(), "{where_}");
            assert!(
                text.contains(&where_) && text.contains(&digest.to_hex()),
                "{text}"
            );
        }
        other => panic!("{where_}: expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        store.check(&digest).await.unwrap(),
        Integrity::Corrupt {
            actual: ArtifactDigest::of(b"tampered"),
            object: path.to_string(),
        },
        "{where_}: check"
    );
}

/// A put of bytes whose object went bad in place (one flipped byte, cut
/// short, emptied) writes the good bytes again instead of trusting it.
pub async fn a_put_repairs_a_damaged_object(store: &ArtifactStore) {
    let where_ = store.describe();
    let data = bytes("repair");
    let digest = store.put(data.clone()).await.unwrap();
    assert_eq!(store.check(&digest).await.unwrap(), Integrity::Intact);
    let path = store.object_path(&digest);
    let mut flipped = data.to_vec();
    flipped[data.len() / 2] ^= 0x01;
    let damages = [
        ("one flipped byte", Bytes::from(flipped)),
        ("truncated", data.slice(..data.len() - 1)),
        ("emptied", Bytes::new()),
    ];
    for (damage, stored) in damages {
        store
            .object_store()
            .put(&path, PutPayload::from(stored))
            .await
            .unwrap();
        assert!(
            matches!(
                store.check(&digest).await.unwrap(),
                Integrity::Corrupt { .. }
            ),
            "{where_}: {damage}: check"
        );
        assert_eq!(store.put(data.clone()).await.unwrap(), digest);
        assert_eq!(
            store.check(&digest).await.unwrap(),
            Integrity::Intact,
            "{where_}: {damage}: a put rewrites the object"
        );
        assert_eq!(
            store.get(&digest).await.unwrap(),
            data,
            "{where_}: {damage}"
        );
    }
    // A put in pieces compares piece by piece.
    let pieces = [data.slice(..5), data.slice(5..)];
    let mut damaged = data.to_vec();
    damaged[7] ^= 0x80;
    store
        .object_store()
        .put(&path, PutPayload::from(damaged))
        .await
        .unwrap();
    store
        .put_hashed(&digest, PutPayload::from_iter(pieces))
        .await
        .unwrap();
    assert_eq!(store.get(&digest).await.unwrap(), data, "{where_}: pieces");
}

/// A file stored a piece at a time (`ArtifactStore::put_file`) is the
/// object its bytes put whole would be: small, and larger than one
/// upload part (a multipart upload on S3). Storing it again leaves the
/// object; an object damaged in place (same size or not) is written again;
/// a file whose bytes no longer hash to the digest (it changed since it
/// was hashed) is an error that leaves no object.
pub async fn a_file_is_stored_a_piece_at_a_time(store: &ArtifactStore) {
    use std::sync::Arc;
    let where_ = store.describe();
    let tag = bytes("file");
    for len in [0, 1000, (8 << 20) + 4099] {
        let data: Vec<u8> = tag
            .iter()
            .copied()
            .chain((0..len).map(|i| (i % 251) as u8 ^ (i >> 13) as u8))
            .collect();
        let mut temp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut temp, &data).unwrap();
        let file = Arc::new(std::fs::File::open(temp.path()).unwrap());
        let size = data.len() as u64;
        let digest = ArtifactDigest::of(&data);
        store.put_file(&digest, file.clone(), size).await.unwrap();
        assert_eq!(store.get(&digest).await.unwrap(), data, "{where_}: {len}");
        store.put_file(&digest, file.clone(), size).await.unwrap();
        let path = store.object_path(&digest);
        let mut flipped = data.clone();
        flipped[data.len() / 2] ^= 0x01;
        for damaged in [flipped, b"tampered".to_vec()] {
            store
                .object_store()
                .put(&path, PutPayload::from(damaged))
                .await
                .unwrap();
            store.put_file(&digest, file.clone(), size).await.unwrap();
            assert_eq!(
                store.check(&digest).await.unwrap(),
                Integrity::Intact,
                "{where_}: {len}: a damaged object is written again"
            );
        }
        let changed = ArtifactDigest::of(b"the bytes it had when it was hashed");
        let err = store.put_file(&changed, file, size).await.unwrap_err();
        assert!(
            err.to_string().contains("changed while it was read"),
            "{where_}: {len}: {err}"
        );
        assert!(
            !store.exists(&changed).await.unwrap(),
            "{where_}: {len}: nothing is left under the digest"
        );
    }
}

pub async fn list_and_delete(store: &ArtifactStore) {
    let where_ = store.describe();
    let mut digests = Vec::new();
    for i in 0..5 {
        digests.push(store.put(bytes(&format!("list {i}"))).await.unwrap());
    }
    digests.sort();
    assert_eq!(store.list().await.unwrap(), digests, "{where_}: list");
    let stored = store.list_stored().await.unwrap();
    assert!(
        stored.iter().all(|a| a.size > 0),
        "{where_}: sizes {stored:?}"
    );

    let gone = digests.remove(2);
    store.delete(&gone).await.unwrap();
    assert!(
        !store.exists(&gone).await.unwrap(),
        "{where_}: exists after delete"
    );
    assert!(
        matches!(store.get(&gone).await, Err(ArtifactError::NotFound { .. })),
        "{where_}: get after delete"
    );
    assert_eq!(
        store.list().await.unwrap(),
        digests,
        "{where_}: list after delete"
    );
    store.delete(&gone).await.unwrap();
    for d in &digests {
        assert!(store.get(d).await.is_ok(), "{where_}: the others stay");
    }
}

pub async fn concurrent_puts_of_the_same_bytes(store: &ArtifactStore) {
    let where_ = store.describe();
    let data = Bytes::from(
        bytes("concurrent")
            .iter()
            .copied()
            .cycle()
            .take(1 << 20)
            .collect::<Vec<u8>>(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let data = data.clone();
            tokio::spawn(async move { store.put(data).await })
        })
        .collect();
    let expected = ArtifactDigest::of(&data);
    for task in tasks {
        let digest = task
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{where_}: {e}"));
        assert_eq!(digest, expected, "{where_}");
    }
    assert_eq!(store.get(&expected).await.unwrap(), data, "{where_}");
    assert_eq!(store.list().await.unwrap(), [expected], "{where_}");
}

pub async fn scopes_do_not_see_each_other(store: &ArtifactStore) {
    let a = store.scoped("tenants/a");
    let b = store.scoped("tenants/b");
    assert_ne!(a.describe(), b.describe());
    let digest = a.put(bytes("tenant a")).await.unwrap();
    let shared = bytes("both tenants");
    let in_a = a.put(shared.clone()).await.unwrap();
    let in_b = b.put(shared).await.unwrap();
    assert_eq!(in_a, in_b);

    assert!(!b.exists(&digest).await.unwrap(), "b sees a's artifact");
    assert!(matches!(
        b.get(&digest).await,
        Err(ArtifactError::NotFound { .. })
    ));
    assert_eq!(b.list().await.unwrap(), std::slice::from_ref(&in_b));
    assert!(
        store.list().await.unwrap().is_empty(),
        "the parent lists its scopes"
    );
    let mut both = vec![digest.clone(), in_a.clone()];
    both.sort();
    assert_eq!(a.list().await.unwrap(), both);

    // Deleting in one scope leaves the other's copy alone.
    b.delete(&in_b).await.unwrap();
    b.delete(&digest).await.unwrap();
    assert!(a.exists(&in_a).await.unwrap());
    assert!(a.exists(&digest).await.unwrap());
    assert!(b.list().await.unwrap().is_empty());
}
