-- Builtin catalog (catalog.backend: builtin): repos, users, organizations and
-- membership, API tokens (SHA3-512 hex only, never the token) and likes.
CREATE SCHEMA IF NOT EXISTS hubstats;

CREATE TABLE IF NOT EXISTS hubstats.users (
  id         bigserial PRIMARY KEY,
  username   text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 96),
  fullname   text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS hubstats.organizations (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 96),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS hubstats.org_members (
  org_id     bigint NOT NULL REFERENCES hubstats.organizations (id) ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES hubstats.users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX IF NOT EXISTS org_members_user_idx ON hubstats.org_members (user_id);

CREATE TABLE IF NOT EXISTS hubstats.repos (
  id         bigserial PRIMARY KEY,
  type       text NOT NULL CHECK (type IN ('model', 'dataset', 'space')),
  namespace  text NOT NULL CHECK (length(namespace) BETWEEN 1 AND 96),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 96),
  private    boolean NOT NULL DEFAULT false,
  -- Maintained in the same statement as every likes insert/delete.
  likes      bigint NOT NULL DEFAULT 0 CHECK (likes >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (type, namespace, name)
);

CREATE TABLE IF NOT EXISTS hubstats.tokens (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES hubstats.users (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{128}$'),
  name       text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS tokens_user_idx ON hubstats.tokens (user_id);

CREATE TABLE IF NOT EXISTS hubstats.likes (
  repo_id    bigint NOT NULL REFERENCES hubstats.repos (id) ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES hubstats.users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (repo_id, user_id)
);
CREATE INDEX IF NOT EXISTS likes_repo_created_idx ON hubstats.likes (repo_id, created_at DESC);
CREATE INDEX IF NOT EXISTS likes_user_created_idx ON hubstats.likes (user_id, created_at DESC);
