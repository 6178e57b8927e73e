/// @file torch/image_batches.hpp
/// Image files to batches of model input, decoded by background threads while the model
/// works on the previous batch. Batches come out in order, whatever thread made them, so
/// a collection is the same with 1 or 16 decoding threads.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "../io/image_folder.hpp"

namespace actatlas {

//! One batch of decoded images. Images that failed to decode are absent from `pixels`
//! and listed in `failures`.
struct image_batch {
  std::size_t index = 0;                    //!< batch number, from 0
  ::torch::Tensor pixels;                   //!< [b,3,H,W] float32 in [0,1], CPU
  std::vector<std::uint64_t> visits;        //!< the visit number of each row of `pixels`
  std::vector<std::filesystem::path> paths; //!< the file of each row
  std::vector<io::image_failure> failures;  //!< files of this batch that could not be decoded
};

//! Decodes the files of visits [begin, end) in batches, `path_of(visit)` naming each
//! visit's file (a visit is one look at one file; a collection may visit a file more than
//! once). Worker threads decode up to `lookahead` batches ahead of the consumer.
class image_batch_reader {
 public:
  struct options {
    std::size_t batch = 32;     //!< visits per batch (the last one may be shorter)
    unsigned threads = 0;       //!< decoding threads; 0 = half the hardware threads, 1..8
    std::size_t lookahead = 0;  //!< batches decoded ahead; 0 = 2 per thread
    bool pin_memory = false;    //!< page-locked host memory, for asynchronous copies to a GPU
  };

  image_batch_reader(std::function<std::filesystem::path(std::uint64_t)> path_of, std::uint64_t begin,
                     std::uint64_t end, int height, int width, options o)
      : path_of_(std::move(path_of)), begin_(begin), end_(std::max(begin, end)), height_(height), width_(width),
        opts_(o) {
    if (opts_.batch == 0) opts_.batch = 1;
    if (opts_.threads == 0) opts_.threads = std::clamp(std::thread::hardware_concurrency() / 2, 1u, 8u);
    if (opts_.lookahead == 0) opts_.lookahead = 2 * opts_.threads;
    batches_ = (end_ - begin_ + opts_.batch - 1) / opts_.batch;
    for (unsigned t = 0; t < opts_.threads; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  image_batch_reader(const image_batch_reader&) = delete;
  image_batch_reader& operator=(const image_batch_reader&) = delete;
  ~image_batch_reader() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    for (auto& w : workers_) w.join();
  }

  std::size_t batches() const { return batches_; }

  //! The next batch in order, or nothing after the last. Rethrows a worker's exception.
  std::optional<image_batch> next() {
    std::unique_lock lock(mutex_);
    if (next_ >= batches_) return std::nullopt;
    changed_.wait(lock, [&] { return error_ || ready_.count(next_); });
    if (error_) std::rethrow_exception(error_);
    auto node = ready_.extract(next_);
    ++next_;
    lock.unlock();
    changed_.notify_all();
    return std::move(node.mapped());
  }

 private:
  void work(unsigned thread) {
    try {
      for (std::size_t b = thread; b < batches_; b += opts_.threads) {
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [&] { return stop_ || b < next_ + opts_.lookahead; });
          if (stop_) return;
        }
        image_batch batch = decode(b);
        {
          std::lock_guard lock(mutex_);
          ready_.emplace(b, std::move(batch));
        }
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      changed_.notify_all();
    }
  }

  image_batch decode(std::size_t b) {
    image_batch out;
    out.index = b;
    const std::uint64_t first = begin_ + b * opts_.batch, last = std::min<std::uint64_t>(end_, first + opts_.batch);
    std::vector<io::image_planes> images;
    for (std::uint64_t v = first; v < last; ++v) {
      auto path = path_of_(v);
      auto result = io::load_image(path, height_, width_);
      if (auto* img = std::get_if<io::image_planes>(&result)) {
        images.push_back(std::move(*img));
        out.visits.push_back(v);
        out.paths.push_back(std::move(path));
      } else {
        out.failures.push_back(std::get<io::image_failure>(std::move(result)));
      }
    }
    auto options = ::torch::TensorOptions().dtype(::torch::kFloat32).pinned_memory(opts_.pin_memory);
    out.pixels = ::torch::empty({static_cast<std::int64_t>(images.size()), 3, height_, width_}, options);
    const std::size_t per_image = static_cast<std::size_t>(3) * height_ * width_;
    float* dst = out.pixels.data_ptr<float>();
    for (std::size_t i = 0; i < images.size(); ++i)
      std::memcpy(dst + i * per_image, images[i].pixels.data(), per_image * sizeof(float));
    return out;
  }

  std::function<std::filesystem::path(std::uint64_t)> path_of_;
  std::uint64_t begin_, end_;
  int height_, width_;
  options opts_;
  std::size_t batches_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::size_t, image_batch> ready_;
  std::size_t next_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace actatlas
