//! The journal client against a real Skriva server on 127.0.0.1 with the real model: signed notes
//! land in the outbox once each, as valid FHIR documents and plain text; a restarted client
//! delivers only what is new and rewrites nothing; a stopped server is retried until it is back.
#![allow(clippy::unwrap_used)]

#[path = "../../../server/tests/fhir_check/mod.rs"]
mod fhir_check;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use skriva_engine::recognize::Recognizer;
use skriva_server::{AppState, ModelConfig, Role, ServerConfig};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CLINICIAN: &str = "SE2321000016-ABC1";
const JOURNAL: &str = "SE2321000016-JRN1";
const PATIENT: &str = "P-2001";
const CLIENT: &str = env!("CARGO_BIN_EXE_skriva-journal-client");

/// The model, loaded once per test binary.
fn recognizer() -> Arc<Recognizer> {
    static MODEL: OnceLock<Arc<Recognizer>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let config = ModelConfig {
                threads: 2,
                ..ModelConfig::default()
            };
            Arc::new(
                skriva_server::load_recognizer(&config)
                    .expect("the default model is provisioned (skriva model fetch)"),
            )
        })
        .clone()
}

/// A real server on 127.0.0.1 that can be stopped (closing every connection) and started again
/// on the same port and data directory.
struct Server {
    base: String,
    port: u16,
    state: AppState,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start(data_dir: &Path, port: u16) -> TestResult<Self> {
        let mut config = ServerConfig::new(data_dir.to_path_buf());
        config.model.threads = 2;
        let state = AppState::open(config)?;
        state.set_recognizer(tokio::task::spawn_blocking(recognizer).await?);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = skriva_server::router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            state,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        })
    }

    fn user(&self, name: &str, role: Role, hsa: &str) -> TestResult<String> {
        let (_, token) = skriva_server::create_user(self.state.store(), name, role, hsa)?;
        Ok(token)
    }

    /// Stops accepting, closes idle connections and waits for the server to finish.
    async fn stop(mut self) -> TestResult {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(60), task).await???;
        }
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> TestResult<Value> {
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        assert!(status.is_success(), "{status}: {body}");
        Ok(body)
    }

    /// Uploads a corpus clip as the clinician: a new draft, transcribed by the real model.
    async fn upload(&self, token: &str) -> TestResult<String> {
        let wav = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../corpora/sv-clinical/pc01_halsont.wav"),
        )?;
        let form = Form::new().text("patient_ref", PATIENT).part(
            "file",
            Part::bytes(wav)
                .file_name("clip.wav")
                .mime_str("audio/wav")?,
        );
        let draft = self
            .call(
                self.http
                    .post(self.url("/api/transcriptions"))
                    .bearer_auth(token)
                    .multipart(form),
            )
            .await?;
        Ok(draft["id"].as_str().unwrap().to_string())
    }

    async fn sign(&self, token: &str, id: &str) -> TestResult {
        let signed = self
            .call(
                self.http
                    .post(self.url(&format!("/api/drafts/{id}/sign")))
                    .bearer_auth(token),
            )
            .await?;
        assert_eq!(signed["status"], "signed");
        Ok(())
    }

    /// A correction of a signed note: a new unsigned draft (no transcription needed).
    async fn revise(&self, token: &str, id: &str) -> TestResult<String> {
        let draft = self
            .call(
                self.http
                    .post(self.url(&format!("/api/drafts/{id}/revisions")))
                    .bearer_auth(token),
            )
            .await?;
        Ok(draft["id"].as_str().unwrap().to_string())
    }

    async fn text(&self, token: &str, id: &str) -> TestResult<String> {
        Ok(self
            .http
            .get(self.url(&format!("/api/drafts/{id}?format=text")))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?)
    }
}

async fn run_client(args: Vec<String>) -> TestResult<Output> {
    Ok(tokio::task::spawn_blocking(move || {
        Command::new(CLIENT)
            .args(&args)
            .env("RUST_LOG", "info")
            .env_remove("SKRIVA_TOKEN")
            .output()
    })
    .await??)
}

fn client_args(server: &str, token: &str, outbox: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--server".to_string(),
        server.to_string(),
        "--token".into(),
        token.into(),
        "--outbox".into(),
        outbox.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The delivered files (dot files are the client's own) and their inode and mtime.
fn delivered(outbox: &Path) -> TestResult<BTreeMap<String, (u64, std::time::SystemTime)>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(outbox)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with('.') {
            let meta = entry.metadata()?;
            files.insert(name, (meta.ino(), meta.modified()?));
        }
    }
    Ok(files)
}

fn pair(ids: &[&str]) -> BTreeSet<String> {
    ids.iter()
        .flat_map(|id| [format!("{id}.fhir.json"), format!("{id}.txt")])
        .collect()
}

/// Checks a delivered note: a valid FHIR document of that draft, and its plain text.
async fn check_note(server: &Server, token: &str, outbox: &Path, id: &str) -> TestResult {
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(outbox.join(format!("{id}.fhir.json")))?)?;
    fhir_check::assert_valid_document(&bundle);
    assert_eq!(bundle["entry"][0]["resource"]["identifier"]["value"], id);
    assert_eq!(bundle["entry"][0]["resource"]["status"], "final");
    let text = std::fs::read_to_string(outbox.join(format!("{id}.txt")))?;
    assert_eq!(text, server.text(token, id).await?);
    assert!(!text.trim().is_empty());
    Ok(())
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> TestResult {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("gave up waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_notes_are_delivered_once_across_restarts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let outbox = dir.path().join("outbox");
    let server = Server::start(&data, 0).await?;
    let doctor = server.user("Ada Läkare", Role::Clinician, CLINICIAN)?;
    let journal = server.user("Journal", Role::Secretary, JOURNAL)?;

    // Two signed notes, and one correction still unsigned.
    let first = server.upload(&doctor).await?;
    server.sign(&doctor, &first).await?;
    let second = server.revise(&doctor, &first).await?;
    server.sign(&doctor, &second).await?;
    let third = server.revise(&doctor, &second).await?;

    let output = run_client(client_args(&server.base, &journal, &outbox, &["--once"])).await?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let before = delivered(&outbox)?;
    assert_eq!(
        before.keys().cloned().collect::<BTreeSet<_>>(),
        pair(&[&first, &second])
    );
    check_note(&server, &journal, &outbox, &first).await?;
    check_note(&server, &journal, &outbox, &second).await?;

    // Nothing new: a second run writes nothing.
    let output = run_client(client_args(&server.base, &journal, &outbox, &["--once"])).await?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(delivered(&outbox)?, before);

    // The third note is signed; a restarted client delivers exactly it.
    server.sign(&doctor, &third).await?;
    let output = run_client(client_args(&server.base, &journal, &outbox, &["--once"])).await?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = delivered(&outbox)?;
    assert_eq!(
        after.keys().cloned().collect::<BTreeSet<_>>(),
        pair(&[&first, &second, &third])
    );
    for (name, stamp) in &before {
        assert_eq!(after.get(name), Some(stamp), "{name} was not rewritten");
    }
    check_note(&server, &journal, &outbox, &third).await?;

    // A wrong token is refused at once, without retries, and writes nothing.
    let other = dir.path().join("other-outbox");
    let output = run_client(client_args(
        &server.base,
        "not-a-token",
        &other,
        &["--once"],
    ))
    .await?;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(log.contains("401"), "{log}");
    assert!(!log.contains("retrying"), "{log}");
    assert!(delivered(&other)?.is_empty());
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_retried_until_it_is_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let outbox = dir.path().join("outbox");
    let server = Server::start(&data, 0).await?;
    let doctor = server.user("Ada Läkare", Role::Clinician, CLINICIAN)?;
    let journal = server.user("Journal", Role::Secretary, JOURNAL)?;
    let first = server.upload(&doctor).await?;
    server.sign(&doctor, &first).await?;

    // The client runs continuously; its log is collected as it goes.
    let mut child = Command::new(CLIENT)
        .args(client_args(
            &server.base,
            &journal,
            &outbox,
            &["--interval", "0.2", "--max-backoff", "0.5"],
        ))
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let log = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                log.lock().unwrap().push(line);
            }
        })
    };
    let result = async {
        let first_fhir = outbox.join(format!("{first}.fhir.json"));
        wait_until("the first note", Duration::from_secs(120), || {
            first_fhir.is_file()
        })
        .await?;

        // The server goes away: the client keeps retrying.
        let port = server.port;
        server.stop().await?;
        let retried = || {
            log.lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("server unavailable; retrying"))
        };
        wait_until("a retry", Duration::from_secs(60), retried).await?;

        // With --once and a bounded number of attempts it gives up with an error instead.
        let other = dir.path().join("other-outbox");
        let output = run_client(client_args(
            &format!("http://127.0.0.1:{port}"),
            &journal,
            &other,
            &["--once", "--attempts", "2", "--max-backoff", "0.2"],
        ))
        .await?;
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("unavailable"));

        // Back on the same port and data; a note signed now is picked up.
        let server = Server::start(&data, port).await?;
        let second = server.revise(&doctor, &first).await?;
        server.sign(&doctor, &second).await?;
        let second_fhir = outbox.join(format!("{second}.fhir.json"));
        wait_until(
            "the note signed after the restart",
            Duration::from_secs(120),
            || second_fhir.is_file(),
        )
        .await?;
        assert_eq!(
            delivered(&outbox)?.keys().cloned().collect::<BTreeSet<_>>(),
            pair(&[&first, &second])
        );
        check_note(&server, &journal, &outbox, &first).await?;
        check_note(&server, &journal, &outbox, &second).await?;
        server.stop().await
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    result.map_err(|e| format!("{e}\nclient log:\n{}", log.lock().unwrap().join("\n")).into())
}
