#!/usr/bin/env python3
"""cuBLAS beside `npm run bench -- --dawn`: torch.mm FP32 with TF32 off, and torch._int_mm (int8 in,
int32 out), on the same GPU. Kernel time from CUDA events (data resident, median after warm-up) and
wall time from host memory to host memory. Prints one JSON object on stdout; any failure is a
field of it ("error"), never a crash, so the bench records why a row is absent.

    python3 scripts/bench/dawn-torch.py 1024,2048,4096
"""
import json
import statistics
import sys
import time

out = {"sizes": [], "rows": []}
try:
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1024").split(",") if x]
    out["sizes"] = sizes
    import torch

    out["torch"] = torch.__version__
    if not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    out["device"] = torch.cuda.get_device_name(dev)

    def kernel_ms(fn, runs=10):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(runs):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times)

    def wall_ms(fn, runs=5):
        fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)

    for n in sizes:
        a = torch.rand(n, n) - 0.5
        b = torch.rand(n, n) - 0.5
        ga, gb = a.to(dev), b.to(dev)
        k = kernel_ms(lambda: torch.mm(ga, gb))
        w = wall_ms(lambda: torch.mm(a.to(dev), b.to(dev)).cpu())
        err = (torch.mm(ga.double(), gb.double()) - torch.mm(ga, gb).double()).abs().max().item()
        out["rows"].append({"kernel": "matmul-f32", "n": n, "impl": "torch.mm FP32 (TF32 off)", "kernelMs": k, "wallMs": w, "work": 2 * n**3, "maxErr": err})
        ai = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        bi = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        gai, gbi = ai.to(dev), bi.to(dev)
        k = kernel_ms(lambda: torch._int_mm(gai, gbi))
        w = wall_ms(lambda: torch._int_mm(ai.to(dev), bi.to(dev)).cpu())
        exact = bool(torch.equal(torch._int_mm(gai, gbi)[:64].cpu(), (ai[:64].long() @ bi.long()).int()))
        out["rows"].append({"kernel": "matmul-i8", "n": n, "impl": "torch._int_mm (int8 → int32)", "kernelMs": k, "wallMs": w, "work": 2 * n**3, "exactFirst64Rows": exact})
except Exception as e:  # noqa: BLE001 - recorded, not raised
    out["error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
