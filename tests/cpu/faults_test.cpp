// Faults (docs/reliability.md): a folder another process is writing, Ctrl-C and SIGTERM, a
// full disk, an output folder that cannot be written, and files that claim more data than
// they hold. Each answer must be one input_error naming the path, with nothing
// half-written left under a real name.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <actatlas/io/atomic_file.hpp>
#include <actatlas/io/folder_lock.hpp>
#include <actatlas/io/interrupt.hpp>
#include <actatlas/io/npy.hpp>
#include <actatlas/io/provenance_csv.hpp>
#include <actatlas/io/safetensors.hpp>

#include "test_tools.hpp"

namespace {
namespace fs = std::filesystem;

//! Names in `folder` (recursively) that hold ".tmp-": what a failed write would leave.
std::vector<std::string> temporaries(const fs::path& folder) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) out.push_back(e.path().string());
  return out;
}

//! A child process that takes the lock on `folder`, says so through a pipe, then waits to
//! be killed. Returns its pid once it holds the lock.
pid_t child_holding_lock(const fs::path& folder) {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    try {
      actatlas::io::folder_lock lock(folder);
      (void)!::write(ready[1], "1", 1);
      for (;;) ::pause();
    } catch (...) {
      (void)!::write(ready[1], "0", 1);
    }
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  REQUIRE(c == '1');
  return pid;
}
}  // namespace

TEST_CASE("a folder locked by another process is one error naming it; a killed holder leaves it free", "[faults]") {
  actatlas::test::temp_dir dir;
  const auto run = dir / "run";
  const pid_t holder = child_holding_lock(run);
  CHECK_THROWS_WITH(actatlas::io::folder_lock(run),
                    Catch::StartsWith(run.string() + ": in use by another actatlas process"));
  // kill -9: no destructor, no cleanup; the kernel drops the flock with the process.
  ::kill(holder, SIGKILL);
  int status = 0;
  ::waitpid(holder, &status, 0);
  CHECK(fs::exists(run / ".actatlas.lock"));  // the file stays, the lock does not
  CHECK_NOTHROW(actatlas::io::folder_lock(run));

  SECTION("within one process the lock is re-entrant, and released with its last holder") {
    {
      actatlas::io::folder_lock outer(run);
      actatlas::io::folder_lock inner(run);  // merge_shards inside collect
    }
    const pid_t again = child_holding_lock(run);  // would fail if the parent still held it
    ::kill(again, SIGKILL);
    ::waitpid(again, &status, 0);
  }
}

TEST_CASE("an output folder that cannot be created or written is one error naming it", "[faults]") {
  actatlas::test::temp_dir dir;
  { std::ofstream(dir / "a-file") << "x"; }
  CHECK_THROWS_WITH(actatlas::io::folder_lock(dir / "a-file" / "run"),
                    Catch::StartsWith((dir / "a-file" / "run").string() + ": cannot create the folder"));
  CHECK_THROWS_WITH(actatlas::io::atomic_write(dir / "a-file" / "x.json", [](std::ostream& o) { o << "{}"; }),
                    Catch::StartsWith((dir / "a-file" / "x.json").string() + ": cannot create folder"));
  if (::geteuid() != 0) {  // root writes through permissions
    fs::create_directories(dir / "ro");
    fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_WITH(actatlas::io::folder_lock(dir / "ro"), Catch::Contains("cannot write here (Permission denied)"));
    fs::permissions(dir / "ro", fs::perms::owner_all);
  }
}

TEST_CASE("SIGINT and SIGTERM become an interrupted exception at the next safe point, exit status 128 + signal", "[faults]") {
  actatlas::io::install_interrupt_handlers();
  CHECK_NOTHROW(actatlas::io::throw_if_interrupted());
  for (const int sig : {SIGINT, SIGTERM}) {
    actatlas::io::install_interrupt_handlers();
    ::raise(sig);  // the process goes on: only the flag is set
    CHECK(actatlas::io::interrupt_requested() == sig);
    // SA_RESETHAND: after one signal its default action is back (a second Ctrl-C ends the process).
    struct sigaction now {};
    ::sigaction(sig, nullptr, &now);
    CHECK(now.sa_handler == SIG_DFL);
    try {
      actatlas::io::throw_if_interrupted();
      FAIL("no exception");
    } catch (const actatlas::io::interrupted& e) {
      CHECK(e.signal() == sig);
      CHECK(e.exit_status() == (sig == SIGINT ? 130 : 143));
      CHECK(std::string(e.what()) == (sig == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM"));
    }
    actatlas::io::detail::interrupt_signal_flag() = 0;
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

TEST_CASE("a signal inherited as ignored (nohup, background jobs) stays ignored", "[faults]") {
  for (const int sig : {SIGINT, SIGTERM}) {
    const int other = sig == SIGINT ? SIGTERM : SIGINT;
    std::signal(sig, SIG_IGN);
    std::signal(other, SIG_DFL);
    actatlas::io::install_interrupt_handlers();
    struct sigaction now {};
    ::sigaction(sig, nullptr, &now);
    CHECK(now.sa_handler == SIG_IGN);
    ::sigaction(other, nullptr, &now);
    CHECK(now.sa_handler == &actatlas::io::detail::record_interrupt);  // the other one is still caught
    ::raise(sig);
    CHECK(actatlas::io::interrupt_requested() == 0);
    CHECK_NOTHROW(actatlas::io::throw_if_interrupted());
    actatlas::io::detail::interrupt_signal_flag() = 0;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
}

namespace {
//! Writes a 64 KiB .npy with write_npy and with npy_writer into `folder`; both must fail
//! with one error naming their file, and leave neither the file nor a temporary.
void check_full_disk(const fs::path& folder, const std::string& reason) {
  const xt::xtensor<float, 2> big = xt::xtensor<float, 2>::from_shape({256, 64});
  const auto npy = folder / "big.npy";
  CHECK_THROWS_WITH(actatlas::io::write_npy(npy, big), Catch::StartsWith(npy.string() + ": ") && Catch::Contains(reason));
  CHECK_FALSE(fs::exists(npy));
  const auto shard = folder / "shard.activations.npy";
  try {
    actatlas::io::npy_writer<float> w(shard, 64);
    for (int i = 0; i < 256; ++i) w.append(big.data(), 1);
    w.close();
    FAIL("npy_writer wrote 64 KiB");
  } catch (const actatlas::input_error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(shard.string() + ": ") && Catch::Contains(reason));
  }
  CHECK_FALSE(fs::exists(shard));
  CHECK(temporaries(folder).empty());
}
}  // namespace

TEST_CASE("a full disk is one error naming the file, with nothing half-written", "[faults]") {
  actatlas::test::temp_dir dir;
  SECTION("ENOSPC on a 32 KiB tmpfs (needs root; skipped otherwise)") {
    const auto mnt = dir / "small";
    fs::create_directories(mnt);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=32k") != 0) {
      WARN("cannot mount a tmpfs here (not root?): the ENOSPC section is skipped, the EFBIG one still runs");
      return;
    }
    struct unmount {
      fs::path at;
      ~unmount() { ::umount(at.c_str()); }
    } unmount_at_exit{mnt};
    { std::ofstream(mnt / "keep.txt") << "an earlier file"; }
    check_full_disk(mnt, "No space left on device");
    CHECK(fs::exists(mnt / "keep.txt"));
  }
  SECTION("EFBIG from a 16 KiB file size limit (fault injection that needs no privilege)") {
    struct rlimit saved {};
    ::getrlimit(RLIMIT_FSIZE, &saved);
    auto* previous = std::signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead
    struct rlimit small = saved;
    small.rlim_cur = 16 * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    struct restore {
      struct rlimit limit;
      void (*handler)(int);
      ~restore() {
        ::setrlimit(RLIMIT_FSIZE, &limit);
        std::signal(SIGXFSZ, handler);
      }
    } restore_at_exit{saved, previous};
    check_full_disk(dir.path(), "File too large");
  }
}

TEST_CASE("npy and safetensors files that claim more data than they hold fail before allocating", "[faults]") {
  actatlas::test::temp_dir dir;
  const auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  };
  // A header claiming 10^9 × 1000 floats (4 TB) in front of 8 bytes: the error must come
  // from the size check (an allocation would throw bad_alloc, not input_error).
  auto header = actatlas::io::detail::make_npy_header<float>({1000000000, 1000});
  CHECK_THROWS_WITH((actatlas::io::read_npy<float, 2>(write("claims.npy", header + std::string(8, '\0')))),
                    Catch::Contains("claims.npy: truncated: header promises 4000000000000 data bytes, file has 8"));
  CHECK_THROWS_AS(actatlas::io::mapped_npy(dir / "claims.npy"), actatlas::input_error);
  // 2^32 × 2^32 floats: 2^66 bytes wrap to 0 in 64 bits, and an empty data section "matched".
  header = actatlas::io::detail::make_npy_header<float>({4294967296ull, 4294967296ull});
  CHECK_THROWS_WITH((actatlas::io::read_npy<float, 2>(write("wraps.npy", header))),
                    Catch::Contains("wraps.npy: truncated: header promises more than 2^64 data bytes"));
  CHECK_THROWS_WITH(actatlas::io::mapped_npy(dir / "wraps.npy"), Catch::Contains("wraps.npy: truncated"));

  const std::string json = R"({"w":{"dtype":"F32","shape":[1000000000,1000],"data_offsets":[0,4000000000000]}})";
  std::string st(8, '\0');
  for (int i = 0; i < 8; ++i) st[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  CHECK_THROWS_WITH(actatlas::io::safetensors_file(write("claims.safetensors", st + json + std::string(16, '\0'))),
                    Catch::Contains("claims.safetensors: tensor 'w': data_offsets [0, 4000000000000] run past the data section (16 bytes"));
}

TEST_CASE("provenance rows with odd image names survive the CSV round trip", "[faults][provenance]") {
  const std::vector<std::string> names = {"plain.png",  "a b.png",         "comma,name.png", "quote\"d.png",
                                          "\"leading quote.png", "naïve café/日本語.png", "line\nbreak.png",
                                          "crlf\r\n.png", ""};
  std::string text = "image,x,y\n";
  for (std::size_t i = 0; i < names.size(); ++i)
    text += actatlas::io::csv_field(names[i]) + "," + std::to_string(i) + "," + std::to_string(-static_cast<int>(i)) + "\n";
  const auto rows = actatlas::io::parse_provenance(text, "p.csv");
  REQUIRE(rows.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK(rows[i].image == names[i]);
    CHECK(rows[i].x == static_cast<std::int32_t>(i));
    CHECK(rows[i].y == -static_cast<std::int32_t>(i));
  }
  // Hand-written rows, as RFC 4180 spells them.
  const auto hand = actatlas::io::parse_provenance("image,x,y\r\n\"say \"\"hi\"\".png\",3,4\r\nplain.png,5,6", "h.csv");
  REQUIRE(hand.size() == 2);
  CHECK(hand[0].image == "say \"hi\".png");
  CHECK(hand[1].x == 5);
  CHECK(hand[1].y == 6);
  // Errors name the line the bad row starts on.
  CHECK_THROWS_WITH(actatlas::io::parse_provenance("image,x,y\na.png,1,2\n\"two\nlines.png\",x,2\n", "bad.csv"),
                    "bad.csv: line 3 is not image,x,y");
  CHECK_THROWS_WITH(actatlas::io::parse_provenance("image,x,y\n\"never closed,1,2\n", "bad.csv"), "bad.csv: line 2 is not image,x,y");
  CHECK_THROWS_WITH(actatlas::io::parse_provenance("image,x,y\na.png,1,99999999999\n", "bad.csv"), "bad.csv: line 2 is not image,x,y");
  CHECK_THROWS_WITH(actatlas::io::parse_provenance("image,x,y\na.png,1,2,3\n", "bad.csv"), "bad.csv: line 2 is not image,x,y");
}
