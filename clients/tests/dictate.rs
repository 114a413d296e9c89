//! `skriva dictate` end to end: the real binary against the real `skriva serve` (real model,
//! real SQLite in a temporary data directory) on a free 127.0.0.1 port, streaming corpus audio
//! at real-time pace; and a server killed with SIGKILL mid-dictation and started again.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use skriva_bench::corpus::Corpus;
use skriva_bench::wer::word_edits;

/// WER bound of a live-dictated corpus clip against its reference (Whisper base, 2 threads).
const MAX_CLIP_WER: f64 = 0.6;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn skriva() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skriva"));
    command.current_dir(repo());
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn reference(clip: &str) -> String {
    let corpus = Corpus::load(&repo().join("corpora/sv-clinical/manifest.tsv")).expect("corpus");
    corpus
        .clips
        .iter()
        .find(|c| c.id == clip)
        .map(|c| c.reference.clone())
        .expect("clip in the manifest")
}

/// A real `skriva serve` on 127.0.0.1 with its own data directory.
struct Server {
    child: Option<Child>,
    port: u16,
    data: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(data: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut server = Self {
            child: None,
            port,
            data: data.to_path_buf(),
            log: data.with_extension("log"),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log");
        let child = skriva()
            .args(["serve", "--addr", &format!("127.0.0.1:{}", self.port)])
            .arg("--data")
            .arg(&self.data)
            .args(["--threads", "2"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start skriva serve");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if get(&format!("{}/readyz", self.base()), None).0 == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the server did not get ready: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill the server");
            child.wait().expect("reap the server");
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a clinician; returns their token.
    fn clinician(&self, name: &str, hsa: &str) -> String {
        let out = skriva()
            .args(["user", "add", name, "--role", "clinician", "--hsa-id", hsa])
            .arg("--data")
            .arg(&self.data)
            .output()
            .expect("skriva user add");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("token (shown once): "))
            .map(|t| t.trim().to_string())
            .expect("a token line")
    }

    fn draft(&self, id: &str, token: &str) -> Value {
        let (status, body) = get(&format!("{}/api/drafts/{id}", self.base()), Some(token));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("draft JSON")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A GET with an optional bearer token: `(status, body)`; status 0 if nothing answered.
fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(10));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    })
}

fn dictate_args(server: &Server, token: &str, file: &Path) -> Vec<String> {
    vec![
        "dictate".into(),
        "--server".into(),
        server.base(),
        "--token".into(),
        token.into(),
        "--patient-ref".into(),
        "P-1001".into(),
        "--file".into(),
        file.display().to_string(),
        "--realtime".into(),
    ]
}

/// The draft id from `skriva dictate`'s first stdout line, `draft drf_… (version N)`.
fn draft_id(stdout: &str) -> String {
    let first = stdout.lines().next().unwrap_or_default();
    let id = first
        .strip_prefix("draft ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    assert!(id.starts_with("drf_"), "no draft id in: {stdout}");
    id.to_string()
}

/// The `final [a–b]: text` lines of the live view, as texts.
fn final_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("final ["))
        .map(|l| {
            l.split_once("]: ")
                .map_or("", |(_, t)| t)
                .trim()
                .to_string()
        })
        .collect()
}

fn segment_texts(draft: &Value) -> Vec<String> {
    draft["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["text"].as_str().unwrap_or_default().trim().to_string())
        .collect()
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Checks that every utterance's stable words, in the order shown, begin its final text:
/// committed text is never taken back.
fn assert_stable_text_is_never_retracted(stderr: &str) {
    let mut stable: Vec<String> = Vec::new();
    let mut utterances = 0;
    for line in stderr.lines() {
        if let Some(t) = line.strip_prefix("stable: ") {
            stable.extend(words(t));
        } else if let Some((_, t)) = line
            .strip_prefix("final [")
            .and_then(|l| l.split_once("]: "))
        {
            let final_words = words(t);
            assert!(
                final_words.starts_with(&stable),
                "stable words {stable:?} are not the start of the final {final_words:?}"
            );
            if !stable.is_empty() {
                utterances += 1;
            }
            stable.clear();
        }
    }
    assert!(utterances > 0, "no utterance had stable text: {stderr}");
}

fn wer(reference: &str, hypothesis: &str) -> f64 {
    word_edits(reference, hypothesis).rate()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run skriva")
}

#[test]
fn a_file_dictated_in_real_time_becomes_a_draft() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"));
    let token = server.clinician("Dr Dikt", "SE2321000016-DIC1");
    let clip = "pc01_halsont.wav";
    let file = repo().join("corpora/sv-clinical").join(clip);

    let refused = run(skriva().args(dictate_args(&server, "not-a-token", &file)));
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(
        err.contains("401"),
        "a bad token must be refused clearly: {err}"
    );

    let out = run(skriva().args(dictate_args(&server, &token, &file)));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let id = draft_id(&stdout);
    let draft = server.draft(&id, &token);
    let draft_text = draft["text"].as_str().unwrap_or_default();
    // The recognized words against the spoken reference; the note's headings are not speech.
    let transcript = segment_texts(&draft).join(" ");
    let rate = wer(&reference(clip), &transcript);
    eprintln!("dictated {clip}: WER {rate:.3}: {transcript}");
    assert!(
        rate <= MAX_CLIP_WER,
        "WER {rate:.3} > {MAX_CLIP_WER}: {transcript}"
    );
    assert!(
        stdout.contains(draft_text.trim()),
        "the printed text is the draft's: {stdout}"
    );
    // Each final was shown once and is a segment of the draft.
    assert_eq!(final_lines(&stderr), segment_texts(&draft), "{stderr}");
    assert_stable_text_is_never_retracted(&stderr);
}

#[test]
fn a_server_killed_mid_dictation_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two clips with a pause between them: the first utterance is final mid-stream.
    let (a, b) = ("pc01_halsont.wav", "pc02_hypertoni.wav");
    let mut samples = Vec::new();
    for (n, clip) in [a, b].iter().enumerate() {
        let (pcm, _) =
            skriva_engine::audio::load_file(&repo().join("corpora/sv-clinical").join(clip))
                .expect("clip");
        if n > 0 {
            samples.extend(std::iter::repeat_n(0i16, 24_000));
        }
        samples.extend(
            pcm.samples
                .iter()
                .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16),
        );
    }
    samples.extend(std::iter::repeat_n(0i16, 8_000));
    let file = dir.path().join("two.wav");
    std::fs::write(&file, skriva_engine::audio::encode_wav(&samples, 16_000)).expect("wav");
    let reference = format!("{} {}", reference(a), reference(b));

    let mut server = Server::start(&dir.path().join("data"));
    let token = server.clinician("Dr Dikt", "SE2321000016-DIC1");

    // Uninterrupted, for comparison.
    let plain = run(skriva().args(dictate_args(&server, &token, &file)));
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let plain_draft = server.draft(&draft_id(&text(&plain.stdout)), &token);
    let plain_text = plain_draft["text"].as_str().unwrap_or_default().to_string();

    // Interrupted: SIGKILL the server once the first utterance is final.
    let mut child = skriva()
        .args(dictate_args(&server, &token, &file))
        .args(["--give-up-after", "180"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skriva dictate");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let first_final = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no final before the kill: {seen:#?}"));
        seen.push(line.clone());
        if line.starts_with("final [") {
            break line;
        }
    };
    server.kill();
    std::thread::sleep(Duration::from_millis(500));
    server.launch();
    let out = child.wait_with_output().expect("dictate finishes");
    reader.join().expect("reader");
    seen.extend(lines.try_iter());
    let stderr = seen.join("\n");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("reconnecting"), "{stderr}");
    assert!(stderr.contains("resumed"), "{stderr}");

    let draft = server.draft(&draft_id(&stdout), &token);
    let draft_text = draft["text"].as_str().unwrap_or_default();
    let segments = segment_texts(&draft);
    // The segment acknowledged before the kill is in the draft, once; every final shown
    // (before and after the restart) is a segment, none twice.
    let first_final_text = final_lines(&first_final)[0].clone();
    assert_eq!(segments.first(), Some(&first_final_text), "{draft}");
    assert_eq!(final_lines(&stderr), segments, "{stderr}");
    let rate = wer(&reference, draft_text);
    let against_plain = wer(&plain_text, draft_text);
    eprintln!(
        "interrupted: WER {rate:.3} vs reference, {against_plain:.3} vs the uninterrupted \
         run\n  interrupted:   {draft_text}\n  uninterrupted: {plain_text}"
    );
    assert!(rate <= MAX_CLIP_WER, "WER {rate:.3}: {draft_text}");
    assert_stable_text_is_never_retracted(&stderr);
}

#[test]
fn without_a_sound_card_the_microphone_is_refused_in_one_line() {
    let cards = std::fs::read_to_string("/proc/asound/cards").ok();
    if cards
        .as_deref()
        .is_some_and(|c| !c.contains("no soundcards"))
    {
        eprintln!("skipped: this machine has a sound card ({cards:?})");
        return;
    }
    // No server is needed: the microphone is opened before any session is created.
    let out = run(skriva().args([
        "dictate",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "t",
        "--patient-ref",
        "P-1001",
    ]));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("skriva:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(
        ours[0].contains("no microphone") && ours[0].contains("no sound card"),
        "{err}"
    );
}
