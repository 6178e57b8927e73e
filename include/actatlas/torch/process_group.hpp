/// @file torch/process_group.hpp
/// Running one atlas as several processes (ranks), on one machine or many, with
/// torch.distributed's own machinery (c10d): a TCPStore for rendezvous and job-wide keys,
/// ProcessGroupGloo for the collectives. A process started by `torchrun` (or by hand, or by
/// a Slurm script, with the same variables) joins the job its environment names; without
/// that environment it runs alone, as it always did.
///
/// Ranks never send tensors to each other: every rank reads and writes the run and atlas
/// folders, which must be on a filesystem all ranks share (docs/distributed.md). What goes
/// over the network is small: barriers, sample counts, progress counters, heartbeats and
/// a failure's message. Gloo carries these for CPU and CUDA ranks alike, so CUDA jobs need
/// no NCCL.
///
/// Faults. Each rank runs a watchdog thread that beats a job-wide counter every quarter
/// second and watches the others'. A rank silent for `peer_timeout` (kill -9, a lost
/// machine, the store's host gone) is declared lost: the watchdog asks the stages to stop
/// at their next safe point (io::request_stop, the same points as Ctrl-C) with one line
/// naming the lost rank, and ends the process itself if that does not happen within
/// another `peer_timeout`. A rank that fails (bad input, an internal error) publishes its
/// message first (`fail`), and every other rank stops with that same message. Every wait
/// is watched so, and every Gloo collective has a timeout: no rank waits forever.
///
/// @code
/// auto group = actatlas::process_group::from_environment();   // null: running alone
/// actatlas::pipeline<> p;
/// p.processes() = group;
/// p.atlas(model, "images", "out");   // shards and icon batches split across the ranks
/// if (group) group->finish();
/// @endcode
#pragma once

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // ProcessGroupGloo.hpp declares the class only under this macro
#endif

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../error.hpp"
#include "../io/interrupt.hpp"

namespace actatlas {

//! Where this process stands in a job, as its launcher described it.
struct rank_environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;                //!< rank among the processes of this machine: its GPU index
  int local_world_size = 1;
  std::string master_addr;           //!< where rank 0 (or torchrun's agent) serves the store
  std::uint16_t master_port = 0;
  bool agent_store = false;          //!< torchrun's agent already serves the store: every rank is a client
  int restart = 0;                   //!< torchrun's restart count: keys of an earlier attempt are not read
};

//! What the job's coordination may take.
struct process_group_options {
  //! A rank silent this long is lost (its heartbeat stops with it); also the timeout of each
  //! Gloo collective and of joining the job. Environment: ACTATLAS_PEER_TIMEOUT (seconds).
  std::chrono::milliseconds peer_timeout{std::chrono::seconds(60)};
};

namespace detail {

inline std::optional<std::string> environment_variable(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

inline int parse_rank_number(const std::string& text, const char* name, int min, int max) {
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < min || value > max)
    throw input_error(name, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                                ", is '" + text + "'");
  return static_cast<int>(value);
}

}  // namespace detail

//! The job this process belongs to, read from the variables torch.distributed reads and
//! torchrun sets: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
//! TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT (a Slurm script exports them
//! from SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID: docs/distributed.md). Nothing when they
//! name no job of more than one process: the process runs alone. A job named but
//! incomplete (no MASTER_ADDR, a rank out of range) is an input_error naming the variable.
inline std::optional<rank_environment> rank_environment_from_variables(
    const std::function<std::optional<std::string>(const char*)>& get = detail::environment_variable) {
  const char* rank_name = "RANK";
  const char* size_name = "WORLD_SIZE";
  const char* local_name = "LOCAL_RANK";
  const auto size_text = get(size_name);
  if (!size_text) {
    if (get(rank_name)) throw input_error("WORLD_SIZE", "RANK is set but WORLD_SIZE is not");
    return std::nullopt;
  }
  rank_environment e;
  e.world_size = detail::parse_rank_number(*size_text, size_name, 1, 1 << 20);
  if (e.world_size == 1) return std::nullopt;
  const auto rank_text = get(rank_name);
  if (!rank_text) throw input_error(rank_name, std::string(size_name) + " is set but " + rank_name + " is not");
  e.rank = detail::parse_rank_number(*rank_text, rank_name, 0, e.world_size - 1);
  e.local_rank = get(local_name) ? detail::parse_rank_number(*get(local_name), local_name, 0, e.world_size - 1) : 0;
  e.local_world_size = get("LOCAL_WORLD_SIZE") ? detail::parse_rank_number(*get("LOCAL_WORLD_SIZE"), "LOCAL_WORLD_SIZE", 1, e.world_size)
                                               : 1;
  const auto addr = get("MASTER_ADDR");
  if (!addr) throw input_error("MASTER_ADDR", "a job of " + std::to_string(e.world_size) + " processes needs the address of rank 0");
  e.master_addr = *addr;
  const auto port = get("MASTER_PORT");
  if (!port) throw input_error("MASTER_PORT", "a job of " + std::to_string(e.world_size) + " processes needs rank 0's port");
  e.master_port = static_cast<std::uint16_t>(detail::parse_rank_number(*port, "MASTER_PORT", 1, 65535));
  const auto agent = get("TORCHELASTIC_USE_AGENT_STORE");
  e.agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
  if (const auto restart = get("TORCHELASTIC_RESTART_COUNT")) e.restart = detail::parse_rank_number(*restart, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
  return e;
}

//! The options, with ACTATLAS_PEER_TIMEOUT (seconds) applied when set.
inline process_group_options process_group_options_from_variables() {
  process_group_options o;
  if (const auto t = detail::environment_variable("ACTATLAS_PEER_TIMEOUT"))
    o.peer_timeout = std::chrono::seconds(detail::parse_rank_number(*t, "ACTATLAS_PEER_TIMEOUT", 1, 86400));
  return o;
}

//! One process's membership in a job of several (see the file comment). Made by join()
//! or from_environment(); shared (std::shared_ptr) by the pipelines that use it.
class process_group {
 public:
  //! Joins the job `e` describes: connects to (or, on rank 0, serves) the store, forms the
  //! Gloo group, starts the watchdog. Blocks until every rank has joined, at most
  //! `peer_timeout`.
  static std::shared_ptr<process_group> join(const rank_environment& e, const process_group_options& o = {}) {
    return std::shared_ptr<process_group>(new process_group(e, o));
  }

  //! join() for the job named by this process's environment; null when it names none.
  static std::shared_ptr<process_group> from_environment() {
    const auto e = rank_environment_from_variables();
    if (!e) return nullptr;
    return join(*e, process_group_options_from_variables());
  }

  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;
  ~process_group() { stop_watchdog(); }

  int rank() const noexcept { return env_.rank; }
  int size() const noexcept { return env_.world_size; }
  int local_rank() const noexcept { return env_.local_rank; }
  //! Rank 0: the one that decides, merges, draws and reports.
  bool leader() const noexcept { return env_.rank == 0; }
  const rank_environment& environment() const noexcept { return env_; }

  //! This rank's device: cuda:LOCAL_RANK when CUDA is usable, else the CPU.
  ::torch::Device device() const {
    if (::torch::cuda::is_available()) return ::torch::Device(::torch::kCUDA, static_cast<c10::DeviceIndex>(env_.local_rank));
    return ::torch::Device(::torch::kCPU);
  }

  //! Waits until every rank has called barrier() as often as this one: a counter in the
  //! store, as torch.distributed's own store-based barrier. The wait has no deadline of its
  //! own (rank 0 may be laying out a million points while the others wait) but is watched:
  //! a lost or failed rank ends it.
  void barrier() {
    const std::string key = "barrier/" + std::to_string(barriers_++);
    guarded([&] { store_->add(key, 1); });
    while (guarded([&] { return store_->add(key, 0); }) < env_.world_size) {
      io::throw_if_interrupted();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  //! Every rank's `value`, in rank order (a Gloo all-gather). Call it where all ranks are
  //! close together (after a barrier): it times out after `peer_timeout`.
  std::vector<std::int64_t> all_gather(std::int64_t value) {
    std::vector<at::Tensor> input{::torch::full({1}, value, ::torch::kLong)};
    std::vector<std::vector<at::Tensor>> output(1);
    for (int r = 0; r < env_.world_size; ++r) output[0].push_back(::torch::zeros({1}, ::torch::kLong));
    collective([&] { group_->allgather(output, input)->wait(options_.peer_timeout); });
    std::vector<std::int64_t> values;
    for (const auto& t : output[0]) values.push_back(t.item<std::int64_t>());
    return values;
  }

  //! Adds `delta` to the job-wide counter `name` and returns its new total (progress shown
  //! by rank 0 for the whole job).
  std::int64_t add(const std::string& name, std::int64_t delta) {
    return guarded([&] { return store_->add("count/" + name, delta); });
  }

  //! Publishes this rank's failure so that the others stop with the same message, then
  //! stops the watchdog. Call it before leaving with an error.
  void fail(const std::string& message, int exit_status) noexcept {
    try {
      const std::string text = std::to_string(exit_status) + " rank " + std::to_string(env_.rank) + ": " + message;
      store_->compareSet("failed", {}, std::vector<std::uint8_t>(text.begin(), text.end()));
      // Rank 0 serves the store: it stays a few watchdog periods so that the others read
      // the reason instead of finding the store gone.
      if (leader() && !env_.agent_store) std::this_thread::sleep_for(std::chrono::seconds(1));
    } catch (...) {
      // The store is gone with rank 0: the others notice the loss on their own.
    }
    stop_watchdog();
  }

  //! This rank's work is done: waits for every rank, stops the watchdog, and passes a Gloo
  //! monitored barrier, so that rank 0, which may serve the store, outlives the others'
  //! last use of it (a rank lost here is named by Gloo's message).
  void finish() {
    barrier();
    stop_watchdog();
    c10d::BarrierOptions b;
    b.timeout = options_.peer_timeout;
    collective([&] { group_->monitoredBarrier(b, /*waitAllRanks=*/true); });
  }

 private:
  process_group(const rank_environment& e, const process_group_options& o) : env_(e), options_(o) {
    c10d::TCPStoreOptions so;
    so.port = e.master_port;
    so.isServer = e.rank == 0 && !e.agent_store;
    so.numWorkers = e.world_size;
    so.waitWorkers = false;
    so.timeout = o.peer_timeout;
    try {
      auto tcp = c10::make_intrusive<c10d::TCPStore>(e.master_addr, so);
      store_ = c10::make_intrusive<c10d::PrefixStore>("actatlas/attempt_" + std::to_string(e.restart), tcp);
      auto go = c10d::ProcessGroupGloo::Options::create(o.peer_timeout);
      go->devices.push_back(gloo_device());
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, e.rank, e.world_size, go);
    } catch (const c10::Error& err) {
      throw input_error("MASTER_ADDR", "rank " + std::to_string(e.rank) + " could not join the job at " + e.master_addr + ":" +
                                           std::to_string(e.master_port) + ": " + first_line(err.what_without_backtrace()));
    }
    watchdog_ = std::thread([this] { watch(); });
  }

  //! The network interface Gloo binds: GLOO_SOCKET_IFNAME as torch.distributed reads it,
  //! else this host's name (the loopback when it does not resolve).
  static std::shared_ptr<::gloo::transport::Device> gloo_device() {
    if (const auto ifname = detail::environment_variable("GLOO_SOCKET_IFNAME"))
      return c10d::ProcessGroupGloo::createDeviceForInterface(*ifname);
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }

  static std::string first_line(const std::string& text) { return printable_line(text.substr(0, text.find('\n'))); }

  //! The stop a peer's failure or loss calls for, when one is known.
  std::optional<rank_stopped> peer_failure() {
    try {
      if (!store_->check({"failed"})) return std::nullopt;
      const auto bytes = store_->get("failed");
      const std::string text(bytes.begin(), bytes.end());
      const auto space = text.find(' ');
      const int status = space == std::string::npos ? 1 : std::atoi(text.substr(0, space).c_str());
      return rank_stopped(space == std::string::npos ? text : text.substr(space + 1), status == 0 ? 1 : status);
    } catch (const c10::Error&) {
      return store_gone();
    }
  }

  //! The store stopped answering: its host, rank 0 (or torchrun's agent), is gone.
  rank_stopped store_gone() const {
    const std::string where = env_.master_addr + ":" + std::to_string(env_.master_port);
    if (env_.agent_store)
      return rank_stopped("torchrun's store at " + where + " stopped answering: stopping this rank; the same command resumes", 1);
    return lost(0, "its store at " + where + " stopped answering");
  }

  rank_stopped lost(int r, const std::string& how) const {
    return rank_stopped("rank " + std::to_string(r) + " of " + std::to_string(env_.world_size) + " was lost (" + how +
                            "): stopping this rank; the same command resumes",
                        1);
  }

  //! A store call; its failure means the store's host is gone.
  template <class F>
  auto guarded(F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const c10::Error&) {
      io::throw_if_interrupted();  // the watchdog may know better who was lost
      throw store_gone();
    }
  }

  //! A Gloo collective; its failure is a lost peer, named by the watchdog when it can.
  //! (Gloo's transport throws its own exceptions, c10d's checks c10::Error: both count.)
  template <class F>
  void collective(F&& f) {
    try {
      f();
    } catch (const std::exception& err) {
      if (auto known = peer_failure()) throw *known;
      // Give the watchdog one period to name the lost rank.
      const auto until = std::chrono::steady_clock::now() + options_.peer_timeout;
      while (std::chrono::steady_clock::now() < until && !io::stop_requested())
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      io::throw_if_interrupted();
      throw rank_stopped("a collective of the job failed: " + first_line(err.what()), 1);
    }
  }

  //! The watchdog (see the file comment).
  void watch() {
    using clock = std::chrono::steady_clock;
    const auto period = std::chrono::milliseconds(250);
    std::vector<std::int64_t> beats(static_cast<std::size_t>(env_.world_size), -1);
    std::vector<clock::time_point> seen(beats.size(), clock::now());
    std::optional<clock::time_point> asked;
    std::optional<rank_stopped> first;  // the first reason found is the one reported
    const std::string own = "alive/" + std::to_string(env_.rank);
    while (!stopping_.load()) {
      std::optional<rank_stopped> stop;
      try {
        store_->add(own, 1);
        stop = peer_failure();
        for (int r = 0; r < env_.world_size && !stop; ++r) {
          if (r == env_.rank) continue;
          const auto v = store_->add("alive/" + std::to_string(r), 0);
          const auto i = static_cast<std::size_t>(r);
          if (v != beats[i]) beats[i] = v, seen[i] = clock::now();
          else if (clock::now() - seen[i] > options_.peer_timeout)
            stop = lost(r, "no sign of life for " + std::to_string(options_.peer_timeout.count() / 1000) + " s");
        }
      } catch (const c10::Error&) {
        stop = store_gone();
      }
      if (stop && !asked) {
        first = stop;
        io::request_stop(std::make_exception_ptr(*stop));
        asked = clock::now();
      }
      // The stages did not reach a safe point in time (a long computation without one):
      // say why and end the process; its finished work is on disk, its temporaries are
      // removed by the next run.
      if (asked && clock::now() - *asked > options_.peer_timeout) {
        std::fprintf(stderr, "actatlas: %s\n", first->what());
        std::_Exit(first->exit_status());
      }
      std::this_thread::sleep_for(period);
    }
  }

  void stop_watchdog() noexcept {
    stopping_.store(true);
    if (watchdog_.joinable() && watchdog_.get_id() != std::this_thread::get_id()) watchdog_.join();
  }

  rank_environment env_;
  process_group_options options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::thread watchdog_;
  std::atomic<bool> stopping_{false};
  std::uint64_t barriers_ = 0;
};

//! @name Free helpers for code that may run alone (a null group) or in a job.
//! @{
inline int rank_of(const process_group* g) noexcept { return g ? g->rank() : 0; }
inline int ranks_in(const process_group* g) noexcept { return g ? g->size() : 1; }
inline bool is_leader(const process_group* g) noexcept { return !g || g->leader(); }
inline void barrier(process_group* g) {
  if (g) g->barrier();
}
//! @}

}  // namespace actatlas
