/// @file detail/xtensor_compat.hpp
/// xtensor moved its headers into sub-folders in 0.26 (`<xtensor/containers/xtensor.hpp>`);
/// Debian 12 ships 0.24 with flat headers. Every actatlas header includes xtensor through
/// this one file so that only this file knows the difference.
#pragma once

#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/core/xmath.hpp>
#include <xtensor/views/xview.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#endif
