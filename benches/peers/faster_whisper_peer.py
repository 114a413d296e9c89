"""faster-whisper peer for `skriva-bench wer`: transcribes every clip of a job with one compute
type and writes per-clip text and wall time (model load excluded) plus the peak RSS as JSON.

Usage: python faster_whisper_peer.py JOB.json RESULT.json   (the harness writes JOB.json)
"""

import json
import os
import resource
import sys
import time

# The model is a local CTranslate2 folder: never contact the Hugging Face hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faster_whisper  # noqa: E402
from faster_whisper import WhisperModel  # noqa: E402


def peak_rss_mb():
    # VmHWM belongs to this process's own address space. ru_maxrss would not do: Linux carries
    # it over from the parent across fork and exec, so it reports the harness's peak when that
    # is larger.
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def transcribe(model, path, job):
    started, cpu_started = time.perf_counter(), time.process_time()
    segments, info = model.transcribe(
        path,
        language=job["language"],
        beam_size=job["beam_size"],
        best_of=job["best_of"],
        temperature=job["temperatures"],
        condition_on_previous_text=True,
        vad_filter=True,
        word_timestamps=job["word_timestamps"],
    )
    # `segments` is lazy: decoding happens while it is consumed.
    text = " ".join(s.text.strip() for s in segments if s.text.strip())
    seconds = time.perf_counter() - started
    return text, seconds, time.process_time() - cpu_started, info.duration


def main():
    job_path, result_path = sys.argv[1], sys.argv[2]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    load_started = time.perf_counter()
    model = WhisperModel(
        job["model_dir"],
        device="cpu",
        compute_type=job["compute_type"],
        cpu_threads=job["threads"],
        local_files_only=True,
    )
    load_s = time.perf_counter() - load_started
    clips = job["clips"]
    if job.get("warmup") and clips:
        transcribe(model, clips[0]["path"], job)
    results = []
    for n, clip in enumerate(clips, 1):
        text, seconds, cpu_s, duration = transcribe(model, clip["path"], job)
        print(
            f"[faster-whisper {job['compute_type']}] {n}/{len(clips)} {clip['id']}: "
            f"{seconds:.2f} s",
            file=sys.stderr,
            flush=True,
        )
        results.append(
            {
                "id": clip["id"],
                "text": text,
                "seconds": seconds,
                "cpu_s": cpu_s,
                "duration_s": duration,
            }
        )
    out = {
        "faster_whisper_version": faster_whisper.__version__,
        "compute_type": job["compute_type"],
        "load_s": load_s,
        "peak_rss_mb": peak_rss_mb(),
        # CPU time of the whole process (all threads), for the harness's load check.
        "process_cpu_s": time.process_time(),
        "clips": results,
    }
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
