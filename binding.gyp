# The r1ts native backend (x86-64 Linux; built by `npm ci` through the package's install script).
# The kernels under native/isa/ are compiled three times, once per instruction set, into three static libraries
# with their own namespaces; native/addon.cc picks one at load time with __builtin_cpu_supports.
{
  'variables': {
    'isa_sources': [
      'native/isa/gemm.cc',
      'native/isa/elementwise.cc',
      'native/isa/nn.cc',
      'native/isa/attention.cc',
      'native/isa/layout.cc',
      'native/isa/table.cc',
      'native/isa/fp8gemm.cc',
      'native/isa/bf16gemm.cc',
    ],
  },
  'target_defaults': {
    'cflags': ['-O3', '-fno-math-errno', '-fno-trapping-math', '-fvisibility=hidden', '-Wall', '-Wno-unused-function'],
    'cflags_cc': ['-std=gnu++17'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions'],
  },
  'targets': [
    {
      'target_name': 'r1ts_isa_avx512',
      'type': 'static_library',
      'sources': ['<@(isa_sources)'],
      'defines': ['R1TS_ISA=avx512'],
      'cflags': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma',
                 '-mprefer-vector-width=512', '-fPIC',
                 # GCC 12's AVX-512 intrinsics (unpack/shuffle via _mm512_undefined_ps) trip this warning spuriously
                 '-Wno-maybe-uninitialized'],
    },
    {
      'target_name': 'r1ts_isa_avx2',
      'type': 'static_library',
      'sources': ['<@(isa_sources)'],
      'defines': ['R1TS_ISA=avx2'],
      'cflags': ['-mavx2', '-mfma', '-fPIC'],
    },
    {
      'target_name': 'r1ts_isa_generic',
      'type': 'static_library',
      'sources': ['<@(isa_sources)'],
      'defines': ['R1TS_ISA=generic'],
      'cflags': ['-fPIC'],
    },
    {
      'target_name': 'r1ts_native',
      'sources': ['native/addon.cc', 'native/pool.cc', 'native/fp8.cc', 'native/adamw.cc', 'native/rows.cc', 'native/moe.cc'],
      # fp8.cc, adamw.cc and rows.cc are bit-exact with JavaScript's double arithmetic (moe.cc only calls the ISA kernels): no FMA contraction there
      'cflags': ['-ffp-contract=off'],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
        'r1ts_isa_avx512',
        'r1ts_isa_avx2',
        'r1ts_isa_generic',
      ],
      'defines': ['NAPI_VERSION=8'],
      'libraries': ['-lpthread'],
    },
  ],
}
