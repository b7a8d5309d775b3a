{
  # glm5_native: the CPU kernels addon. Each ISA's kernels are a static library of their own so they
  # can get their own -m flags; the addon itself is portable and picks a table at run time (cpuid).
  "variables": {
    "glm5_cflags": ["-O3", "-std=c++17", "-fPIC", "-fexceptions", "-Wall", "-Wno-unused-function"]
  },
  "targets": [
    {
      "target_name": "glm5_native",
      "sources": [
        "native/src/addon.cpp",
        "native/src/attention.cpp",
        "native/src/cpu.cpp",
        "native/src/dispatch.cpp",
        "native/src/elementwise.cpp",
        "native/src/indexer.cpp",
        "native/src/linear.cpp",
        "native/src/mmap.cpp",
        "native/src/panel.cpp",
        "native/src/moe.cpp",
        "native/src/norm.cpp",
        "native/src/pool.cpp",
        "native/src/quantize.cpp",
        "native/src/probe.cpp",
        "native/src/rope.cpp",
        "native/src/generic/kernels_scalar.cpp"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0", "-std=gnu++17", "-std=c++17"],
      "cflags_cc": ["<@(glm5_cflags)"],
      "libraries": ["-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["target_arch=='x64'", {
          "defines": ["GLM5_HAVE_X86"],
          "dependencies": ["glm5_avx2", "glm5_avx512"]
        }]
      ]
    },
    {
      "target_name": "glm5_avx2",
      "type": "static_library",
      "sources": ["native/src/x86/kernels_avx2.cpp"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0", "-std=gnu++17", "-std=c++17"],
      "cflags_cc": ["<@(glm5_cflags)", "-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "glm5_avx512",
      "type": "static_library",
      "sources": ["native/src/x86/kernels_avx512.cpp"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0", "-std=gnu++17", "-std=c++17"],
      "cflags_cc": ["<@(glm5_cflags)", "-mavx2", "-mfma", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq"]
    }
  ]
}
