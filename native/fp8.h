// r1ts native FP8 kernels (fp8.cc): fine-grained quantise / dequantise and the FP8 GEMM emulation with a
// limited-precision accumulator and promotion, bit-exact with the TypeScript reference in src/backend/ts/fp8.ts.
#pragma once
#include <napi.h>

namespace r1ts {

/** Adds fp8Quantize, fp8Dequantize and fp8Gemm to the addon's exports. */
void register_fp8(Napi::Env env, Napi::Object exports);

}  // namespace r1ts
