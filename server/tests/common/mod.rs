//! Shared test harness: a real server on 127.0.0.1 (random port) with the real model and a
//! temporary data directory, Swedish clips from recorded fixtures, and small HTTP and
//! WebSocket clients.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use skriva_engine::recognize::Recognizer;
use skriva_server::{AppState, ModelConfig, Role, ServerConfig};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The clinic's sentences, one utterance each, with a pause between them.
pub const SENTENCES: &[&str] = &[
    "Patienten har haft halsont och feber i tre dagar.",
    "Blodtrycket är hundrafyrtio över nittio i dag.",
    "Vi höjer Enalapril till tio milligram dagligen.",
];

pub fn init_tracing() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
    });
}

/// Decoding is CPU-bound and slow on small machines: tests that decode run one at a time.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// The model, loaded once per test binary.
pub fn recognizer() -> Arc<Recognizer> {
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

/// A running server.
pub struct TestServer {
    pub base: String,
    pub ws_base: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl TestServer {
    pub async fn start(adjust: impl FnOnce(&mut ServerConfig)) -> TestResult<Self> {
        init_tracing();
        let dir = tempfile::tempdir()?;
        let mut config = ServerConfig::new(dir.path().join("data"));
        config.model.threads = 2;
        config.streaming.end_silence_ms = 500;
        adjust(&mut config);
        let state = AppState::open(config)?;
        let model = tokio::task::spawn_blocking(recognizer).await?;
        state.set_recognizer(model);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(skriva_server::serve_with_listener(listener, state.clone()));
        Ok(Self {
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
            state,
            dir,
            http: reqwest::Client::new(),
        })
    }

    /// Creates a user and returns their token.
    pub fn user(&self, name: &str, role: Role, hsa: &str) -> TestResult<String> {
        let (_, token) = skriva_server::create_user(self.state.store(), name, role, hsa)?;
        Ok(token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db_path(&self) -> PathBuf {
        self.state.config().database_path()
    }
}

/// Creates a dictation session; returns `(session id, draft id)`.
pub async fn create_session(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    patient: &str,
) -> TestResult<(String, String)> {
    let response = http
        .post(format!("{base}/api/sessions"))
        .bearer_auth(token)
        .json(&serde_json::json!({"mode": "dictation", "patient_ref": patient, "template": "standard"}))
        .send()
        .await?;
    assert_eq!(response.status(), 201, "create session");
    let body: Value = response.json().await?;
    let ws_url = body["ws_url"].as_str().unwrap_or_default();
    assert!(
        ws_url.starts_with("ws://") && ws_url.ends_with("/stream"),
        "{ws_url}"
    );
    Ok((
        body["id"].as_str().unwrap_or_default().to_string(),
        body["draft_id"].as_str().unwrap_or_default().to_string(),
    ))
}

// ---- audio ------------------------------------------------------------------------------

/// A Swedish clip of some of [`SENTENCES`]: 16 kHz mono s16 samples, 0.5 s of silence first and
/// 1 s after each sentence. `fixtures/sentence_N.wav` is sentence N spoken by espeak-ng with the
/// MBROLA Swedish voice (`espeak-ng -v mb-sw1 -s 140 -w sentence_N.wav "…"`).
pub fn clip(sentences: &[&str]) -> Vec<i16> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut samples = vec![0i16; 8000];
    for sentence in sentences {
        let index = SENTENCES
            .iter()
            .position(|s| s == sentence)
            .expect("a sentence of SENTENCES");
        let wav = fixtures.join(format!("sentence_{index}.wav"));
        let decoded = skriva_engine::audio::decode_file(&wav).expect("decode the fixture wav");
        let mono = skriva_engine::audio::resample_to_16k(&decoded.mono, decoded.sample_rate)
            .expect("resample");
        samples.extend(mono.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16));
        samples.extend(std::iter::repeat_n(0i16, 16000));
    }
    samples
}

/// The streaming tests' clip (two utterances), cached per test binary.
pub fn full_clip() -> &'static [i16] {
    static CLIP: OnceLock<Vec<i16>> = OnceLock::new();
    CLIP.get_or_init(|| clip(&SENTENCES[..2]))
}

/// The samples as a 16 kHz mono 16-bit WAV file's bytes.
pub fn wav_bytes(samples: &[i16]) -> TestResult<Vec<u8>> {
    Ok(skriva_engine::audio::encode_wav(samples, 16_000))
}

/// Audio frames of 100 ms: `(seq, frame bytes with header)`, seq from 1.
pub fn frames(samples: &[i16]) -> Vec<(u64, Vec<u8>)> {
    samples
        .chunks(1600)
        .enumerate()
        .map(|(i, chunk)| {
            let seq = i as u64 + 1;
            let mut frame = seq.to_le_bytes().to_vec();
            for s in chunk {
                frame.extend_from_slice(&s.to_le_bytes());
            }
            (seq, frame)
        })
        .collect()
}

// ---- WebSocket client -------------------------------------------------------------------

pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a read from the stream produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Event(Value),
    Closed(Option<(u16, String)>),
    Timeout,
}

pub struct Ws {
    pub socket: WsStream,
}

pub enum Auth<'a> {
    Header(&'a str),
    Query(&'a str),
    Subprotocol(&'a str),
}

impl Ws {
    pub async fn connect(ws_base: &str, session: &str, auth: Auth<'_>) -> TestResult<Self> {
        let mut url = format!("{ws_base}/api/sessions/{session}/stream");
        if let Auth::Query(token) = &auth {
            url.push_str(&format!("?access_token={token}"));
        }
        let mut request = url.into_client_request()?;
        match auth {
            Auth::Header(token) => {
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse()?);
            }
            Auth::Subprotocol(token) => {
                request.headers_mut().insert(
                    "sec-websocket-protocol",
                    format!("skriva.v1, bearer.{token}").parse()?,
                );
            }
            Auth::Query(_) => {}
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        if let Some(p) = response.headers().get("sec-websocket-protocol") {
            assert_eq!(
                p, "skriva.v1",
                "the server selects skriva.v1, never echoes the token"
            );
        }
        Ok(Self { socket })
    }

    pub async fn send_json(&mut self, value: Value) -> TestResult {
        self.socket.send(Message::text(value.to_string())).await?;
        Ok(())
    }

    pub async fn send_text(&mut self, text: &str) -> TestResult {
        self.socket.send(Message::text(text.to_string())).await?;
        Ok(())
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> TestResult {
        self.socket.send(Message::binary(bytes)).await?;
        Ok(())
    }

    pub async fn start(&mut self, resume_from: Option<u64>) -> TestResult {
        let mut start = serde_json::json!({"type": "start", "sample_rate": 16000, "channels": 1, "encoding": "pcm_s16le"});
        if let Some(n) = resume_from {
            start["resume_from_event"] = n.into();
        }
        self.send_json(start).await
    }

    pub async fn next(&mut self, wait: Duration) -> Item {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Item::Timeout,
                Ok(None) => return Item::Closed(None),
                Ok(Some(Err(_))) => return Item::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Item::Event(serde_json::from_str(text.as_str()).unwrap_or(Value::Null))
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Item::Closed(frame.map(|f| (u16::from(f.code), f.reason.to_string())))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next event of type `kind`, skipping others (collected into `seen`).
    pub async fn expect(
        &mut self,
        kind: &str,
        seen: &mut Vec<Value>,
        wait: Duration,
    ) -> TestResult<Value> {
        loop {
            match self.next(wait).await {
                Item::Event(event) => {
                    seen.push(event.clone());
                    if event["type"] == kind {
                        return Ok(event);
                    }
                }
                other => return Err(format!("waiting for `{kind}`, got {other:?}").into()),
            }
        }
    }

    /// Reads until the server closes; returns every event.
    pub async fn drain(&mut self, wait: Duration) -> (Vec<Value>, Item) {
        let mut events = Vec::new();
        loop {
            match self.next(wait).await {
                Item::Event(e) => events.push(e),
                end => return (events, end),
            }
        }
    }
}

/// The text of the `final` events, in order, joined by spaces.
pub fn finals_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "final")
        .map(|e| e["text"].as_str().unwrap_or_default().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The recognized text a draft holds: its segments' texts, joined as [`finals_text`] joins
/// finals (the draft's `text` is the structured note).
pub fn segments_text(draft: &Value) -> String {
    draft["segments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["text"].as_str().unwrap_or_default().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Streams a clip uninterrupted and returns every event up to `closed`.
pub async fn stream_clip(
    ws_base: &str,
    session: &str,
    token: &str,
    samples: &[i16],
) -> TestResult<Vec<Value>> {
    let mut ws = Ws::connect(ws_base, session, Auth::Header(token)).await?;
    ws.start(None).await?;
    let mut events = Vec::new();
    ws.expect("ready", &mut events, Duration::from_secs(30))
        .await?;
    for (_, frame) in frames(samples) {
        ws.send_binary(frame).await?;
    }
    ws.send_json(serde_json::json!({"type": "stop"})).await?;
    let (rest, end) = ws.drain(Duration::from_secs(300)).await;
    events.extend(rest);
    assert!(
        matches!(end, Item::Closed(Some((1000, _)))),
        "normal close after stop, got {end:?}"
    );
    Ok(events)
}

/// Word error rate bound for a streamed clip of [`SENTENCES`]: the engine's live-stream bound
/// (measured there 0.43–0.60 on the same voice; numbers come out as digits, "140 över 90").
pub const STREAM_MAX_WER: f64 = 0.6;

/// Word error rate of `hypothesis` against `reference`, case and punctuation ignored.
pub fn word_error_rate(hypothesis: &str, reference: &str) -> f64 {
    let words = |t: &str| -> Vec<String> {
        t.split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (h, r) = (words(hypothesis), words(reference));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let substitution = diagonal + usize::from(rw != hw);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[h.len()] as f64 / r.len().max(1) as f64
}

/// Asserts the live-text contract: `stable` words are never taken back — each utterance's
/// `final` starts with exactly the stable words sent for it since the previous final.
pub fn assert_stable_is_never_retracted(events: &[Value]) {
    let words_of = |e: &Value| -> Vec<String> {
        e["words"]
            .as_array()
            .map(|ws| {
                ws.iter()
                    .filter_map(|w| w["word"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut stable: Vec<String> = Vec::new();
    let mut stable_events = 0;
    for event in events {
        match event["type"].as_str() {
            Some("stable") => {
                stable_events += 1;
                stable.extend(words_of(event));
            }
            Some("final") => {
                let words = words_of(event);
                assert!(
                    words.starts_with(&stable),
                    "final {words:?} retracts stable words {stable:?}"
                );
                stable.clear();
            }
            _ => {}
        }
    }
    assert!(
        stable.is_empty(),
        "stable words never made final: {stable:?}"
    );
    assert!(stable_events > 0, "no stable event before the finals");
}

/// Asserts the invariant every stream keeps: seqs strictly increase (errors before `ready` use 0).
pub fn assert_monotonic(events: &[Value]) {
    let seqs: Vec<u64> = events
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .filter(|s| *s > 0)
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seqs not increasing: {seqs:?}"
    );
}
