//! Test corpora: a Skriva manifest (`path`, `reference`, … columns; clips relative to the
//! manifest) or a Common Voice TSV (`path`, `sentence`; clips under `clips/` beside the TSV when
//! that folder exists). Both load into the same list of [`Clip`]s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// Which layout a TSV file has, told apart by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CorpusFormat {
    /// `path`, `reference`, … columns; paths relative to the manifest's folder.
    SkrivaManifest,
    /// `client_id`, `path`, `sentence`, … columns; paths relative to `clips/` beside the TSV (if present).
    CommonVoice,
}

/// One audio clip and what was said in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clip {
    /// The `path` column as written (unique within a corpus; used as the clip's name).
    pub id: String,
    /// The audio file, resolved against the corpus location.
    pub audio: PathBuf,
    /// The reference transcript.
    pub reference: String,
    /// The remaining columns (`voice`, `kind`, `domain`, …), empty ones left out.
    pub meta: BTreeMap<String, String>,
}

/// A loaded corpus.
#[derive(Debug, Clone, Serialize)]
pub struct Corpus {
    pub source: PathBuf,
    pub format: CorpusFormat,
    pub clips: Vec<Clip>,
}

impl Corpus {
    /// Reads a manifest or Common Voice TSV. Rows must have a path and a non-empty reference;
    /// audio files are not opened here (see [`Corpus::check_audio`]).
    pub fn load(tsv: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(tsv)
            .with_context(|| format!("cannot read corpus {}", tsv.display()))?;
        let base = tsv.parent().unwrap_or_else(|| Path::new("."));
        Self::parse(&text, base, tsv)
    }

    /// Parses TSV text; `base` is the folder the TSV lives in, `source` is only for messages.
    pub fn parse(text: &str, base: &Path, source: &Path) -> Result<Self> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            bail!("{}: empty corpus file", source.display());
        };
        let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
        let find = |name: &str| columns.iter().position(|c| *c == name);
        let path_col = find("path")
            .with_context(|| format!("{}: header has no `path` column", source.display()))?;
        let (format, text_col, clip_dir) = if let Some(col) = find("reference") {
            (CorpusFormat::SkrivaManifest, col, base.to_path_buf())
        } else if let Some(col) = find("sentence") {
            let clips = base.join("clips");
            let dir = if clips.is_dir() {
                clips
            } else {
                base.to_path_buf()
            };
            (CorpusFormat::CommonVoice, col, dir)
        } else {
            bail!(
                "{}: header needs a `reference` (Skriva manifest) or `sentence` (Common Voice) \
                 column; it has: {}",
                source.display(),
                columns.join(", ")
            );
        };
        let mut clips: Vec<Clip> = Vec::new();
        for (line_no, line) in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            let field = |i: usize| fields.get(i).map_or("", |f| f.trim());
            let (path, reference) = (field(path_col), field(text_col));
            if path.is_empty() {
                bail!("{}:{line_no}: empty `path`", source.display());
            }
            if reference.is_empty() {
                bail!(
                    "{}:{line_no}: `{path}` has no reference text",
                    source.display()
                );
            }
            if clips.iter().any(|c| c.id == path) {
                bail!("{}:{line_no}: `{path}` is listed twice", source.display());
            }
            let meta = columns
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != path_col && *i != text_col)
                .filter_map(|(i, name)| {
                    let value = field(i);
                    (!value.is_empty() && !name.is_empty())
                        .then(|| (name.to_string(), value.to_string()))
                })
                .collect();
            clips.push(Clip {
                id: path.to_string(),
                audio: clip_dir.join(path),
                reference: reference.to_string(),
                meta,
            });
        }
        if clips.is_empty() {
            bail!("{}: no clips listed", source.display());
        }
        Ok(Self {
            source: source.to_path_buf(),
            format,
            clips,
        })
    }

    /// Keeps the first `n` clips.
    pub fn truncate(&mut self, n: usize) {
        self.clips.truncate(n);
    }

    /// Fails, naming every missing one, unless all audio files exist.
    pub fn check_audio(&self) -> Result<()> {
        let missing: Vec<String> = self
            .clips
            .iter()
            .filter(|c| !c.audio.is_file())
            .map(|c| c.audio.display().to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            bail!(
                "{} of {} clips in {} are missing: {}",
                missing.len(),
                self.clips.len(),
                self.source.display(),
                missing.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "path\treference\tnote\tvoice\tkind\tdomain\tnotes\n\
        wav/pc01.wav\tPatienten har haft feber i tre dagar.\t\tsw1\tplain\tprimary_care\thalsont\r\n\
        \n\
        wav/pc02.wav\tBlodtrycket är hundrafyrtio över nittio.\tS: BT 140/90\tsw2\tplain\n";

    #[test]
    fn skriva_manifest_resolves_relative_to_the_manifest() {
        let c = Corpus::parse(
            MANIFEST,
            Path::new("/c/sv"),
            Path::new("/c/sv/manifest.tsv"),
        )
        .expect("parse");
        assert_eq!(c.format, CorpusFormat::SkrivaManifest);
        assert_eq!(c.clips.len(), 2);
        let first = &c.clips[0];
        assert_eq!(first.id, "wav/pc01.wav");
        assert_eq!(first.audio, PathBuf::from("/c/sv/wav/pc01.wav"));
        assert_eq!(first.reference, "Patienten har haft feber i tre dagar.");
        // Empty `note`, trailing CR stripped from the last column.
        assert_eq!(first.meta.get("note"), None);
        assert_eq!(first.meta.get("notes").map(String::as_str), Some("halsont"));
        // A short row: missing trailing columns are simply absent.
        let second = &c.clips[1];
        assert_eq!(
            second.meta.get("note").map(String::as_str),
            Some("S: BT 140/90")
        );
        assert_eq!(second.meta.get("domain"), None);
    }

    #[test]
    fn common_voice_uses_clips_dir_when_present() {
        let tsv = "client_id\tpath\tsentence\tup_votes\n\
                   abc\tcommon_voice_sv-SE_1.mp3\tHej på dig.\t2\n";
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Corpus::parse(tsv, dir.path(), &dir.path().join("test.tsv")).expect("parse");
        assert_eq!(c.format, CorpusFormat::CommonVoice);
        assert_eq!(
            c.clips[0].audio,
            dir.path().join("common_voice_sv-SE_1.mp3")
        );
        assert_eq!(c.clips[0].reference, "Hej på dig.");
        assert_eq!(
            c.clips[0].meta.get("up_votes").map(String::as_str),
            Some("2")
        );

        std::fs::create_dir(dir.path().join("clips")).expect("mkdir");
        let tsv_path = dir.path().join("test.tsv");
        std::fs::write(&tsv_path, tsv).expect("write");
        let c = Corpus::load(&tsv_path).expect("load");
        assert_eq!(
            c.clips[0].audio,
            dir.path().join("clips").join("common_voice_sv-SE_1.mp3")
        );
        assert!(c.check_audio().is_err(), "the clip file does not exist");
        std::fs::write(&c.clips[0].audio, b"x").expect("write");
        c.check_audio().expect("all present");
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let p = Path::new("x.tsv");
        let err = |text: &str| {
            Corpus::parse(text, Path::new("."), p)
                .expect_err("should fail")
                .to_string()
        };
        assert!(err("").contains("empty"));
        assert!(err("file\treference\na\tb\n").contains("`path`"));
        assert!(err("path\ttext\na\tb\n").contains("`reference`"));
        assert!(err("path\treference\n").contains("no clips"));
        assert!(err("path\treference\na.wav\t\n").contains("no reference"));
        assert!(err("path\treference\na.wav\tx\na.wav\ty\n").contains("twice"));
    }

    #[test]
    fn truncate_keeps_the_first_clips() {
        let mut c = Corpus::parse(MANIFEST, Path::new("."), Path::new("m.tsv")).expect("parse");
        c.truncate(1);
        assert_eq!(c.clips.len(), 1);
        assert_eq!(c.clips[0].id, "wav/pc01.wav");
    }
}
