"""musicnn embeddings, run by the TensorFlow venv (``make eval-env``), never imported by ditto2.

Usage: ``.venv-tf/bin/python musicnn_worker.py DIR``

* ``DIR/request.json``: {"model": "MTT_musicnn", "layer": "penultimate", "window_s": 3.0, "hop_s": 1.0,
  "count": n}
* ``DIR/in_{i}.npy``: float32 mono audio at 16 kHz (musicnn's rate), i = 0..n-1
* writes ``DIR/out_{i}.npy``: float32 (patches, dim), one row per ``window_s`` patch.

The log-mel front end is musicnn's own (``musicnn.extractor.batch_data``), applied to an array
instead of a file; the checkpoint loads once for all inputs (``extractor()`` reloads it per file).
Patches start every ``hop_s`` and one more is aligned with the end, so the tail is never dropped.
This file imports only the TF venv's packages (numpy<2, librosa, tensorflow, musicnn).
"""
import json
import os
import sys

import numpy as np

# Run as a script, this file's folder (src/ditto2/eval) is sys.path[0], and its musicnn.py (the ditto2
# bridge) would shadow the musicnn package: drop that folder before importing anything from it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

LAYERS = ("mean_pool", "max_pool", "penultimate")  # one vector per patch; other layers vary in time


def log_mel(audio, config):
    import librosa

    rep = librosa.feature.melspectrogram(y=audio, sr=config.SR, hop_length=config.FFT_HOP,
                                         n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
    return np.log10(10000 * rep.astype(np.float16) + 1)  # float16 first, as musicnn does


def patch_starts(n_frames, size, hop):
    starts = list(range(0, n_frames - size + 1, hop))
    if starts[-1] != n_frames - size:
        starts.append(n_frames - size)
    return starts


def build(model, layer, n_frames):
    """The musicnn graph with its checkpoint restored; returns (session, input, is_training, output)."""
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    import musicnn
    from musicnn import configuration as config
    from musicnn import models

    labels = config.MTT_LABELS if "MTT" in model else config.MSD_LABELS
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, model, len(labels))
    names = ("logits", "timbral", "temporal", "cnn1", "cnn2", "cnn3", "mean_pool", "max_pool", "penultimate")
    layer_tensor = dict(zip(names, outputs))[layer]
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
    return sess, x, is_training, layer_tensor


def main(folder):
    import librosa
    from musicnn import configuration as config

    with open(os.path.join(folder, "request.json")) as f:
        request = json.load(f)
    if request["layer"] not in LAYERS or "vgg" in request["model"]:
        sys.exit(f"musicnn worker: unsupported model/layer {request['model']}/{request['layer']} "
                 f"(musicnn models; layers {', '.join(LAYERS)})")
    size = int(librosa.time_to_frames(request["window_s"], sr=config.SR, n_fft=config.FFT_SIZE,
                                      hop_length=config.FFT_HOP)) + 1
    hop = max(1, round(request["hop_s"] * config.SR / config.FFT_HOP))
    sess, x, is_training, out = build(request["model"], request["layer"], size)
    for i in range(int(request["count"])):
        rep = log_mel(np.load(os.path.join(folder, f"in_{i}.npy")), config)
        if len(rep) < size:
            sys.exit(f"musicnn worker: input {i} is shorter than one {request['window_s']} s patch")
        batch = np.stack([rep[s:s + size] for s in patch_starts(len(rep), size, hop)])
        emb = sess.run(out, feed_dict={x: batch, is_training: False})
        np.save(os.path.join(folder, f"out_{i}.npy"), np.asarray(emb, dtype=np.float32).reshape(len(batch), -1))
    sess.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: musicnn_worker.py DIR")
    main(sys.argv[1])
