// hubstats admin repo|user|org|token: the builtin catalog, with the admin token.
#include <memory>

#include "command_context.h"
#include "format.h"
#include "responses.h"
#include "validate.h"

namespace hubstats::cli {

namespace {

struct AdminArgs {
  std::string type, id;
  bool make_private = false;
  std::string private_value = "true";
  std::string username, fullname, org, token_name;
  std::int64_t token_id = 0;
  std::string list_user;
};
using Args = std::shared_ptr<AdminArgs>;

// Repositories: add, remove, set-private, list.
void add_repo_commands(CLI::App* admin, Action& action, const Args& a) {
  auto repo_args = [&](CLI::App* cmd) {
    cmd->add_option("type", a->type, "model, dataset or space")->required();
    cmd->add_option("id", a->id, "namespace/name")->required();
  };
  [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                          token_name, token_id, list_user] = *a;
  auto* repo = admin->add_subcommand("repo", "Repositories");
  repo->require_subcommand(1);
  auto* repo_add = repo->add_subcommand("add", "Register a repository");
  repo_args(repo_add);
  repo_add->add_flag("--private", make_private, "Register it as private");
  repo_add->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto ref = parse_repo_arg(type, id);
      auto r = c.admin().add_repo(ref, make_private);
      if (c.globals.json) return c.print_raw(r);
      c.out << "added " << to_string(ref.type) << " " << ref.id()
            << (make_private ? " (private)" : " (public)") << "\n";
    };
  });
  auto* repo_rm = repo->add_subcommand("remove", "Delete a repository and its likes");
  repo_args(repo_rm);
  repo_rm->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto ref = parse_repo_arg(type, id);
      auto r = c.admin().remove_repo(ref);
      if (c.globals.json) return c.print_raw(r);
      c.out << "removed " << to_string(ref.type) << " " << ref.id() << "\n";
    };
  });
  auto* repo_priv = repo->add_subcommand("set-private", "Make a repository private or public");
  repo_args(repo_priv);
  repo_priv->add_option("value", private_value, "true (default) or false")->default_val("true");
  repo_priv->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto ref = parse_repo_arg(type, id);
      bool p = parse_bool_arg(private_value);
      auto r = c.admin().set_private(ref, p);
      if (c.globals.json) return c.print_raw(r);
      c.out << to_string(ref.type) << " " << ref.id() << " is now " << (p ? "private" : "public")
            << "\n";
    };
  });
  auto* repo_list = repo->add_subcommand("list", "List registered repositories");
  repo_list->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto r = c.admin().list_repos();
      if (c.globals.json) return c.print_raw(r);
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r.json) {
        rows.push_back({json_string(e, "type"),
                        json_string(e, "namespace") + "/" + json_string(e, "name"),
                        json_flag(e, "private"), json_string(e, "likes")});
      }
      c.out << render_table({"type", "repository", "private", "likes"}, rows,
                            {Align::kLeft, Align::kLeft, Align::kLeft, Align::kRight});
    };
  });
}

// Users: add, list.
void add_user_commands(CLI::App* admin, Action& action, const Args& a) {
  [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                          token_name, token_id, list_user] = *a;
  auto* user = admin->add_subcommand("user", "Users");
  user->require_subcommand(1);
  auto* user_add = user->add_subcommand("add", "Create a user");
  user_add->add_option("username", username, "User name")->required();
  user_add->add_option("--fullname", fullname, "Display name");
  user_add->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto name = parse_name_arg("user name", username);
      auto r = c.admin().add_user(name, fullname);
      if (c.globals.json) return c.print_raw(r);
      c.out << "added user " << name << "\n";
    };
  });
  auto* user_list = user->add_subcommand("list", "List users");
  user_list->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto r = c.admin().list_users();
      if (c.globals.json) return c.print_raw(r);
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r.json)
        rows.push_back({json_string(e, "username"), json_string(e, "fullname")});
      c.out << render_table({"username", "fullname"}, rows, {});
    };
  });
}

// Organization membership: add-member, remove-member, members.
void add_org_commands(CLI::App* admin, Action& action, const Args& a) {
  [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                          token_name, token_id, list_user] = *a;
  auto* orgc = admin->add_subcommand("org", "Organization membership");
  orgc->require_subcommand(1);
  auto* add_member = orgc->add_subcommand("add-member", "Add a user to an organization");
  add_member->add_option("org", org, "Organization (created if missing)")->required();
  add_member->add_option("username", username, "User name")->required();
  add_member->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto o = parse_name_arg("organization", org);
      auto u = parse_name_arg("user name", username);
      auto r = c.admin().add_member(o, u);
      if (c.globals.json) return c.print_raw(r);
      bool added = r.json.is_object() && r.json.value("added", true);
      c.out << (added ? "added " + u + " to " + o : u + " is already a member of " + o) << "\n";
    };
  });
  auto* rm_member = orgc->add_subcommand("remove-member", "Remove a user from an organization");
  rm_member->add_option("org", org, "Organization")->required();
  rm_member->add_option("username", username, "User name")->required();
  rm_member->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto o = parse_name_arg("organization", org);
      auto u = parse_name_arg("user name", username);
      auto r = c.admin().remove_member(o, u);
      if (c.globals.json) return c.print_raw(r);
      c.out << "removed " << u << " from " << o << "\n";
    };
  });
  auto* members = orgc->add_subcommand("members", "List an organization's members");
  members->add_option("org", org, "Organization")->required();
  members->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto o = parse_name_arg("organization", org);
      auto r = c.admin().list_members(o);
      if (c.globals.json) return c.print_raw(r);
      for (const auto& m : r.json)
        c.out << (m.is_string() ? m.get<std::string>() : m.dump()) << "\n";
    };
  });
}

// API tokens: create, revoke, list.
void add_token_commands(CLI::App* admin, Action& action, const Args& a) {
  [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                          token_name, token_id, list_user] = *a;
  auto* tok = admin->add_subcommand("token", "API tokens");
  tok->require_subcommand(1);
  auto* tok_create = tok->add_subcommand(
      "create", "Create a token for a user; prints it once on stdout (details on stderr)");
  tok_create->add_option("username", username, "User name")->required();
  tok_create->add_option("--name", token_name, "A label for the token");
  tok_create->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      auto u = parse_name_arg("user name", username);
      auto r = c.admin().create_token(u, token_name);
      if (c.globals.json) return c.print_raw(r);
      std::string secret = json_string(r.json, "token");
      if (secret.empty()) {
        throw CliError(ExitCode::kHttpError, "unexpected response from server: missing 'token'");
      }
      c.out << secret << "\n";
      c.err << "created token " << json_string(r.json, "id") << " for " << u
            << "; it is shown only this once\n";
    };
  });
  auto* tok_revoke = tok->add_subcommand("revoke", "Revoke a token by id");
  tok_revoke->add_option("id", token_id, "Token id (from create or list)")->required();
  tok_revoke->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      check_range("token id", token_id, 1, INT64_MAX);
      auto r = c.admin().revoke_token(token_id);
      if (c.globals.json) return c.print_raw(r);
      c.out << "revoked token " << token_id << "\n";
    };
  });
  auto* tok_list = tok->add_subcommand("list", "List tokens (never their values)");
  tok_list->add_option("--username", list_user, "Only this user's tokens");
  tok_list->callback([a, &action] {
    action = [a](const Context& c) {
      [[maybe_unused]] auto& [type, id, make_private, private_value, username, fullname, org,
                              token_name, token_id, list_user] = *a;
      std::optional<std::string> u;
      if (!list_user.empty()) u = parse_name_arg("user name", list_user);
      auto r = c.admin().list_tokens(u);
      if (c.globals.json) return c.print_raw(r);
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r.json) {
        rows.push_back({json_string(e, "id"), json_string(e, "username"), json_string(e, "name"),
                        json_string(e, "created_at"), json_flag(e, "revoked")});
      }
      c.out << render_table({"id", "username", "name", "created", "revoked"}, rows,
                            {Align::kRight});
    };
  });
}

}  // namespace

void add_admin_commands(CLI::App& app, Action& action) {
  // ---- admin (builtin catalog) ----
  auto* admin = app.add_subcommand("admin", "Manage the builtin catalog (needs the admin token)");
  admin->require_subcommand(1);
  auto a = std::make_shared<AdminArgs>();
  add_repo_commands(admin, action, a);
  add_user_commands(admin, action, a);
  add_org_commands(admin, action, a);
  add_token_commands(admin, action, a);
}

}  // namespace hubstats::cli
