//! Headless Chromium for the tests of HTML pages (the monitor report): the
//! DOM as it is after the page's scripts ran. scripts/test.sh installs
//! Debian's `chromium`.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may take before the browser is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Open `path` in headless Chromium, with a fresh profile and no network
/// services of its own, and return the DOM after the scripts ran.
pub(crate) fn chromium_dom(path: &Path) -> String {
    let page = path
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let profile = tempfile::tempdir().expect("a temporary Chromium profile");
    let mut user_data_dir = std::ffi::OsString::from("--user-data-dir=");
    user_data_dir.push(profile.path());
    let mut command = Command::new("chromium");
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(user_data_dir)
        .arg("--dump-dom")
        .arg(file_url(&page))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout kills the browser's helpers too.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "chromium is not installed: the HTML report tests open pages in headless \
             Chromium (apt-get install chromium; scripts/test.sh installs it)"
        ),
        Err(e) => panic!("run chromium: {e}"),
    };
    // Drain the pipes on threads so a chatty browser never blocks.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        out.read_to_end(&mut b).map(|_| b)
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        err.read_to_end(&mut b).map(|_| b)
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "chromium did not render {} within {} s",
                page.display(),
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out
        .join()
        .expect("stdout thread")
        .expect("chromium's stdout");
    let err = err
        .join()
        .expect("stderr thread")
        .expect("chromium's stderr");
    assert!(
        status.success(),
        "chromium failed on {} ({status}):\n{}",
        page.display(),
        String::from_utf8_lossy(&err)
    );
    String::from_utf8(out).expect("chromium's DOM is UTF-8")
}

/// How many times `needle` occurs in `dom`, e.g. `class="bar"`.
pub(crate) fn count(dom: &str, needle: &str) -> usize {
    dom.matches(needle).count()
}

/// A `file://` URL for an absolute path: bytes outside the unreserved set
/// and `/` are percent-encoded (temporary directories may hold anything).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}
