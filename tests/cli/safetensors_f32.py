# The F32 tensors of a safetensors file as {name: array('f')}, for the CLI
# tests that compare checkpoints (train_resume.sh, train_init.sh; run from the
# repository root: sys.path.insert(0, "tests/cli")). Not a test itself.
import array, json, struct


def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); base = 8 + n
    return {k: array.array("f", b[base + v["data_offsets"][0]:base + v["data_offsets"][1]])
            for k, v in h.items() if k != "__metadata__" and v["dtype"] == "F32"}
