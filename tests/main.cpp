// The test runner's main: prints the library versions once, then runs Catch. The tests
// seed every generator they use themselves (fixed seeds in each test), so a failure
// reproduces on a rerun without any runner option.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include <actatlas/version.hpp>
#if __has_include(<xtensor/xtensor_config.hpp>)
#include <xtensor/xtensor_config.hpp>
#endif

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  std::fprintf(stderr, "actatlas %d.%d.%d", actatlas::version_major, actatlas::version_minor,
               actatlas::version_patch);
#ifdef XTENSOR_VERSION_MAJOR
  std::fprintf(stderr, ", xtensor %d.%d.%d", XTENSOR_VERSION_MAJOR, XTENSOR_VERSION_MINOR, XTENSOR_VERSION_PATCH);
#endif
  std::fprintf(stderr, ", Catch2 %d.%d.%d\n", CATCH_VERSION_MAJOR, CATCH_VERSION_MINOR, CATCH_VERSION_PATCH);
  return session.run();
}
