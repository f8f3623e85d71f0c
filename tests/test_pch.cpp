// Compiles nothing of its own: the target exists to build the precompiled
// header every test reuses (tests/CMakeLists.txt, steadfast_test_pch).
