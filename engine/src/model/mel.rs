//! The mel filterbank that a ggml Whisper file embeds (whisper.cpp uses it for `pcm_to_mel`).
//! Computed exactly as `librosa.filters.mel(sr, n_fft, n_mels)` does it (Slaney mel scale, Slaney
//! area normalization, float64 arithmetic with librosa's float32 roundings), which is how OpenAI
//! produced Whisper's `mel_filters.npz`.

/// Hz → mel on the Slaney scale (linear below 1 kHz, logarithmic above), as `librosa.hz_to_mel`.
fn hz_to_mel(hz: f64) -> f64 {
    let f_min = 0.0;
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = (min_log_hz - f_min) / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        (hz - f_min) / f_sp
    }
}

/// Mel → Hz on the Slaney scale, as `librosa.mel_to_hz`.
fn mel_to_hz(mel: f64) -> f64 {
    let f_min = 0.0;
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = (min_log_hz - f_min) / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_min + f_sp * mel
    }
}

/// `numpy.linspace(start, stop, num)` with its exact arithmetic.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// Slaney-normalized mel filterbank, `n_mels` rows × `n_fft / 2 + 1` columns, row-major, spanning
/// 0 Hz to `sample_rate / 2`. Bit-identical to librosa's float32 result for Whisper's parameters.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let sr = f64::from(sample_rate);
    let n_freqs = n_fft / 2 + 1;
    // numpy.fft.rfftfreq(n_fft, d = 1 / sr)
    let val = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * val).collect();

    let mel_f: Vec<f64> = linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2)
        .into_iter()
        .map(mel_to_hz)
        .collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();

    let mut weights = vec![0f32; n_mels * n_freqs];
    for (i, row) in weights.chunks_exact_mut(n_freqs).enumerate() {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (w, &f) in row.iter_mut().zip(&fft_freqs) {
            let lower = -(mel_f[i] - f) / fdiff[i];
            let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
            // librosa stores the triangle into a float32 array, then scales it in place by the
            // float64 norm: two roundings, reproduced here.
            let tri = lower.min(upper).max(0.0) as f32;
            *w = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(row, column, f32 bits)` of `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`
    /// (librosa 0.11.0, numpy 2.4), recorded with Python.
    const LIBROSA_80: [(usize, usize, u32); 7] = [
        (0, 1, 0x3ccb_aca4),    // 0.024862595
        (10, 10, 0x3ca3_168f),  // 0.019908218
        (10, 11, 0x3ba2_584f),  // 0.004954375
        (40, 42, 0x3bb1_4fa3),  // 0.0054111048
        (40, 43, 0x3c71_6d72),  // 0.014735566
        (79, 186, 0x39c0_473c), // 0.00036674167
        (79, 187, 0x3a5a_6262), // 0.00083307
    ];
    /// Sum of all 80 × 201 entries (in float64) of the same librosa matrix.
    const LIBROSA_80_SUM: f64 = 1.999024092387117;
    /// Sum of `librosa.filters.mel(sr=16000, n_fft=400, n_mels=128)` (large-v3's filterbank).
    const LIBROSA_128_SUM: f64 = 3.1909855409403463;

    #[test]
    fn whisper_80_matches_librosa() {
        let m = mel_filters(16_000, 400, 80);
        assert_eq!(m.len(), 80 * 201);
        for (i, j, bits) in LIBROSA_80 {
            assert_eq!(
                m[i * 201 + j].to_bits(),
                bits,
                "entry ({i}, {j}) = {}",
                m[i * 201 + j]
            );
        }
        let sum: f64 = m.iter().map(|&x| f64::from(x)).sum();
        assert!((sum - LIBROSA_80_SUM).abs() < 1e-12, "sum {sum}");
        // Row 0 has one non-zero (bin 1); the top row is 14 bins wide.
        assert_eq!(m[..201].iter().filter(|&&x| x > 0.0).count(), 1);
        assert_eq!(m[79 * 201..].iter().filter(|&&x| x > 0.0).count(), 14);
        assert!(m.iter().all(|&x| x >= 0.0));
    }

    #[test]
    fn whisper_128_sum_matches_librosa() {
        let m = mel_filters(16_000, 400, 128);
        assert_eq!(m.len(), 128 * 201);
        let sum: f64 = m.iter().map(|&x| f64::from(x)).sum();
        assert!((sum - LIBROSA_128_SUM).abs() < 1e-12, "sum {sum}");
    }

    #[test]
    fn slaney_scale_is_continuous_at_1khz() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((mel_to_hz(hz_to_mel(3000.0)) - 3000.0).abs() < 1e-9);
        assert!((mel_to_hz(hz_to_mel(440.0)) - 440.0).abs() < 1e-9);
        assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }
}
