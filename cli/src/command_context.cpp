#include "command_context.h"

namespace hubstats::cli {

bool parse_bool_arg(const std::string& s) {
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  throw CliError(ExitCode::kBadArgument, "invalid value '" + s + "' (expected true or false)");
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key)) {
    const auto& v = j[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  return "";
}

std::string json_flag(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>() ? "yes"
                                                                                       : "no";
}

}  // namespace hubstats::cli
