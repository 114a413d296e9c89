//! Crash safety: the server binary is SIGKILLed mid-dictation and restarted on the same data
//! directory. Every final the client was sent is in the draft, and resuming the session
//! re-decodes the unfinished audio into the same draft an uninterrupted run produces.

mod common;

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use skriva_server::{Role, ServerConfig, Store};

const CLINICIAN: &str = "SE2321000016-ABC1";

struct Server {
    child: Child,
    base: String,
    ws_base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn launch(data_dir: &Path) -> TestResult<Server> {
    let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(env!("CARGO_BIN_EXE_skriva-server"))
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--threads",
            "2",
            "--no-partials",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        ws_base: format!("ws://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", server.base)).send().await {
            if r.status() == 200 {
                return Ok(server);
            }
        }
        if Instant::now() > deadline {
            return Err("the server did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn draft_text(base: &str, token: &str, draft_id: &str) -> TestResult<String> {
    let draft: Value = reqwest::Client::new()
        .get(format!("{base}/api/drafts/{draft_id}"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(segments_text(&draft))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_dictation_loses_no_acknowledged_segment() -> TestResult {
    let _serial = serial().await;
    init_tracing();
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let token = {
        let store = Store::open(&ServerConfig::new(&data_dir).database_path())?;
        skriva_server::create_user(&store, "Dr Ada", Role::Clinician, CLINICIAN)?.1
    };
    let samples = full_clip();
    let all_frames = frames(samples);
    let http = reqwest::Client::new();

    let server = launch(&data_dir).await?;
    let (session, draft_id) = create_session(&http, &server.base, &token, "P-42").await?;
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.start(None).await?;
    let mut before = Vec::new();
    ws.expect("ready", &mut before, Duration::from_secs(60))
        .await?;
    let cut = all_frames.len() * 7 / 10;
    for (_, frame) in &all_frames[..cut] {
        ws.send_binary(frame.clone()).await?;
    }
    ws.expect("final", &mut before, Duration::from_secs(300))
        .await?;
    // SIGKILL: no shutdown code runs.
    drop(server);
    let acked_text = finals_text(&before);
    let acked = before
        .iter()
        .filter(|e| e["type"] == "ack")
        .filter_map(|e| e["frame_seq"].as_u64())
        .max()
        .unwrap_or(0);
    let last_seen = before
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .max()
        .unwrap_or(0);
    drop(ws);

    let server = launch(&data_dir).await?;
    // Every final the client saw is in the draft.
    let after_restart = draft_text(&server.base, &token, &draft_id).await?;
    assert!(
        after_restart.starts_with(&acked_text),
        "acknowledged finals survive: {acked_text:?} vs {after_restart:?}"
    );

    // An uninterrupted reference on the restarted server.
    let (reference_session, _) = create_session(&http, &server.base, &token, "P-43").await?;
    let reference =
        finals_text(&stream_clip(&server.ws_base, &reference_session, &token, samples).await?);

    // Resume the crashed session: no acknowledged audio was lost, the rest is re-sent.
    let mut ws = Ws::connect(&server.ws_base, &session, Auth::Header(&token)).await?;
    ws.start(Some(last_seen)).await?;
    let mut after = Vec::new();
    let ready = ws
        .expect("ready", &mut after, Duration::from_secs(60))
        .await?;
    let accepted = ready["last_frame_seq"].as_u64().unwrap_or(0);
    assert!(
        accepted >= acked,
        "acked frames survive the crash: {accepted} < {acked}"
    );
    for (_, frame) in &all_frames[accepted as usize..] {
        ws.send_binary(frame.clone()).await?;
    }
    ws.send_json(json!({"type": "stop"})).await?;
    let (rest, end) = ws.drain(Duration::from_secs(300)).await;
    after.extend(rest);
    assert!(matches!(end, Item::Closed(Some((1000, _)))), "{end:?}");
    let mut all = before.clone();
    all.extend(after);
    assert_monotonic(&all);
    assert_eq!(finals_text(&all), reference, "no final lost or duplicated");
    assert_eq!(
        draft_text(&server.base, &token, &draft_id).await?,
        reference
    );
    let store = Store::open(&ServerConfig::new(&data_dir).database_path())?;
    assert!(skriva_server::verify_audit_chain(&store)?.is_intact());
    Ok(())
}
