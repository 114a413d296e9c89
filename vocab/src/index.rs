//! The tantivy search index over all vocabulary terms: Swedish-stemmed word forms, character
//! trigrams for fuzzy look-up and a phonetic key. Built in memory or in a directory, where it
//! is kept with a hash of its sources and rebuilt when they change.

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{
    LowerCaser, NgramTokenizer, SimpleTokenizer, Stemmer, TextAnalyzer, TokenStream,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument};

use crate::error::{Error, Result};
use crate::phonetic::phonetic_key;

/// Tokenizer name for Swedish-stemmed words.
const STEM_TOKENIZER: &str = "sv_stem";
/// Tokenizer name for character trigrams.
const GRAM_TOKENIZER: &str = "sv_gram";
/// File in the index directory holding the hash of the sources it was built from.
const HASH_FILE: &str = "sources.sha256";
/// How many candidates the index proposes before they are re-scored by edit distance.
const CANDIDATES: usize = 40;

/// A Swedish analyzer: simple word split, lowercase, Snowball Swedish stemmer.
pub(crate) fn stemming_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(Stemmer::new(tantivy::tokenizer::Language::Swedish))
        .build()
}

fn gram_analyzer() -> Result<TextAnalyzer> {
    Ok(TextAnalyzer::builder(NgramTokenizer::all_ngrams(3, 3)?)
        .filter(LowerCaser)
        .build())
}

/// The text that is split into trigrams: the form padded so that word starts and ends
/// make grams of their own.
fn gram_text(form: &str) -> String {
    format!(" {} ", form.to_lowercase())
}

#[derive(Clone, Copy, Debug)]
struct Fields {
    id: Field,
    form: Field,
    grams: Field,
    phonetic: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_u64_field("id", INDEXED | STORED);
    let form = builder.add_text_field(
        "form",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(STEM_TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    let grams = builder.add_text_field(
        "grams",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(GRAM_TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    let phonetic = builder.add_text_field("phonetic", STRING);
    (
        builder.build(),
        Fields {
            id,
            form,
            grams,
            phonetic,
        },
    )
}

/// The tantivy index over the vocabulary's term forms.
pub(crate) struct TermIndex {
    /// Kept so the reader's directory stays open for the index's lifetime.
    _index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for TermIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TermIndex").finish_non_exhaustive()
    }
}

impl TermIndex {
    /// Builds the index in memory from `(term id, form)` pairs.
    pub(crate) fn in_memory<'a>(forms: impl Iterator<Item = (usize, &'a str)>) -> Result<Self> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        register_tokenizers(&index)?;
        fill(&index, fields, forms)?;
        Self::with_reader(index, fields)
    }

    /// Opens the index in `dir` if it was built from sources with hash `hash`, otherwise
    /// (re)builds it there.
    pub(crate) fn in_dir<'a>(
        dir: &Path,
        hash: &str,
        forms: impl Iterator<Item = (usize, &'a str)>,
    ) -> Result<Self> {
        let hash_path = dir.join(HASH_FILE);
        let stored = std::fs::read_to_string(&hash_path).ok();
        if stored.as_deref().map(str::trim) == Some(hash) {
            match Index::open_in_dir(dir) {
                Ok(index) => {
                    register_tokenizers(&index)?;
                    let (_, fields) = schema();
                    tracing::debug!(dir = %dir.display(), "vocabulary index is current");
                    return Self::with_reader(index, fields);
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "rebuilding unreadable vocabulary index")
                }
            }
        }
        tracing::info!(dir = %dir.display(), "building vocabulary index");
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = schema();
        let index = Index::create_in_dir(dir, schema)?;
        register_tokenizers(&index)?;
        fill(&index, fields, forms)?;
        std::fs::write(&hash_path, hash).map_err(|e| Error::io(&hash_path, e))?;
        Self::with_reader(index, fields)
    }

    fn with_reader(index: Index, fields: Fields) -> Result<Self> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(TermIndex {
            _index: index,
            reader,
            fields,
        })
    }

    /// Term ids whose forms share trigrams, stems or the phonetic key with `query`, best
    /// first by index score.
    pub(crate) fn candidates(&self, query: &str) -> Result<Vec<usize>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut grams = gram_analyzer()?;
        let text = gram_text(query);
        let mut stream = grams.token_stream(&text);
        let mut seen = std::collections::HashSet::new();
        while let Some(token) = stream.next() {
            if seen.insert(token.text.clone()) {
                let term = tantivy::Term::from_field_text(self.fields.grams, &token.text);
                clauses.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                ));
            }
        }
        let mut stems = stemming_analyzer();
        let mut stream = stems.token_stream(query);
        while let Some(token) = stream.next() {
            let term = tantivy::Term::from_field_text(self.fields.form, &token.text);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    2.0,
                )),
            ));
        }
        let key = phonetic_key(query);
        if !key.is_empty() {
            let term = tantivy::Term::from_field_text(self.fields.phonetic, &key);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    5.0,
                )),
            ));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let hits = searcher.search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())?;
        let mut ids = Vec::with_capacity(hits.len());
        for (_score, address) in hits {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = document.get_first(self.fields.id).and_then(|v| v.as_u64()) {
                ids.push(id as usize);
            }
        }
        Ok(ids)
    }

    /// Number of indexed forms.
    pub(crate) fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// Tokenizers are not stored with an index: they must be registered every time one is
/// created or reopened.
fn register_tokenizers(index: &Index) -> Result<()> {
    index
        .tokenizers()
        .register(STEM_TOKENIZER, stemming_analyzer());
    index
        .tokenizers()
        .register(GRAM_TOKENIZER, gram_analyzer()?);
    Ok(())
}

fn fill<'a>(
    index: &Index,
    fields: Fields,
    forms: impl Iterator<Item = (usize, &'a str)>,
) -> Result<()> {
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
    for (id, form) in forms {
        writer.add_document(doc!(
            fields.id => id as u64,
            fields.form => form,
            fields.grams => gram_text(form),
            fields.phonetic => phonetic_key(form),
        ))?;
    }
    writer.commit()?;
    Ok(())
}
