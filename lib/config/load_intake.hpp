// Role: reading [intake.jetstream] (see load_intake.cpp); used by load.cpp alone.
#pragma once

#include "config/settings.hpp"
#include "config/toml_reader.hpp"

namespace submitd::config {

void read_jetstream(const Reader& r, JetStreamSettings& js);

}  // namespace submitd::config
