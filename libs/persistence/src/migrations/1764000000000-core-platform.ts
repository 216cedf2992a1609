import { MigrationInterface, QueryRunner } from 'typeorm';

/** The core platform: accounts, catalog, apps, add-ons, attachments, partner OAuth, lifecycle log. */
export class CorePlatform1764000000000 implements MigrationInterface {
  name = 'CorePlatform1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        name text,
        is_operator boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        label text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX api_keys_account_idx ON api_keys (account_id);

      CREATE TABLE regions (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        description text NOT NULL,
        country text NOT NULL,
        locale text NOT NULL,
        provider_region text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO regions (id, name, description, country, locale, provider_region) VALUES
        ('59accabd-516d-4f0e-83e6-6e3757701145', 'us', 'United States', 'United States', 'us', 'amazon-web-services::us-east-1'),
        ('ed30241c-ed8c-4bb6-9714-61953675d0b4', 'eu', 'Europe', 'Ireland', 'eu', 'amazon-web-services::eu-west-1');

      CREATE TABLE apps (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        owner_account_id uuid NOT NULL REFERENCES accounts(id),
        region_id uuid NOT NULL REFERENCES regions(id),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        deleted_at timestamptz
      );
      CREATE UNIQUE INDEX apps_live_name_key ON apps (name) WHERE deleted_at IS NULL;
      CREATE INDEX apps_owner_idx ON apps (owner_account_id) WHERE deleted_at IS NULL;

      CREATE TABLE collaborators (
        app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, account_id)
      );
      CREATE INDEX collaborators_account_idx ON collaborators (account_id);

      CREATE TABLE releases (
        id uuid PRIMARY KEY,
        app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version integer NOT NULL,
        description text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (app_id, version)
      );

      CREATE TABLE addon_services (
        id uuid PRIMARY KEY,
        slug text NOT NULL UNIQUE,
        human_name text NOT NULL,
        owner_account_id uuid REFERENCES accounts(id),
        provider text NOT NULL CHECK (provider IN ('http', 'postgres', 'redis', 'kafka')),
        state text NOT NULL CHECK (state IN ('alpha', 'beta', 'ga', 'shutdown')),
        published boolean NOT NULL DEFAULT false,
        config_vars_prefix text NOT NULL,
        default_alias text NOT NULL,
        config_vars jsonb NOT NULL DEFAULT '[]',
        requires jsonb NOT NULL DEFAULT '[]',
        regions jsonb NOT NULL DEFAULT '[]',
        base_url text,
        sso_url text,
        password_sealed text,
        sso_salt_sealed text,
        timeout_ms integer,
        client_secret_hash text,
        current_manifest_id uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );

      CREATE TABLE addon_manifests (
        id uuid PRIMARY KEY,
        service_id uuid NOT NULL REFERENCES addon_services(id) ON DELETE CASCADE,
        contents_sealed text NOT NULL,
        pushed_by uuid REFERENCES accounts(id),
        created_at timestamptz NOT NULL
      );
      CREATE INDEX addon_manifests_service_idx ON addon_manifests (service_id, created_at);

      CREATE TABLE plans (
        id uuid PRIMARY KEY,
        service_id uuid NOT NULL REFERENCES addon_services(id) ON DELETE CASCADE,
        name text NOT NULL,
        human_name text NOT NULL,
        description text NOT NULL DEFAULT '',
        price_cents integer NOT NULL CHECK (price_cents >= 0),
        price_unit text NOT NULL,
        is_default boolean NOT NULL DEFAULT false,
        state text NOT NULL CHECK (state IN ('public', 'beta', 'private', 'deprecated')),
        meters jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (service_id, name)
      );
      CREATE UNIQUE INDEX plans_one_default_per_service ON plans (service_id) WHERE is_default;

      CREATE TABLE addons (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        service_id uuid NOT NULL REFERENCES addon_services(id),
        plan_id uuid NOT NULL REFERENCES plans(id),
        app_id uuid NOT NULL REFERENCES apps(id),
        region_id uuid NOT NULL REFERENCES regions(id),
        state text NOT NULL CHECK (state IN ('provisioning', 'provisioned', 'deprovisioning', 'deprovisioned')),
        billed_price_cents integer NOT NULL,
        billed_price_unit text NOT NULL,
        pending_plan_id uuid REFERENCES plans(id),
        plan_change_seq integer NOT NULL DEFAULT 0,
        provider_id text,
        config_sealed text,
        options jsonb NOT NULL DEFAULT '{}',
        provision_message text,
        failure_reason text,
        plan_change_error text,
        async_deadline_at timestamptz,
        cleanup_pending boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        provisioned_at timestamptz,
        deprovision_requested_at timestamptz,
        deprovisioned_at timestamptz
      );
      CREATE INDEX addons_app_idx ON addons (app_id);
      CREATE INDEX addons_service_idx ON addons (service_id);
      CREATE INDEX addons_transitional_idx ON addons (updated_at)
        WHERE state IN ('provisioning', 'deprovisioning') OR pending_plan_id IS NOT NULL OR cleanup_pending;
      CREATE INDEX addons_async_deadline_idx ON addons (async_deadline_at) WHERE state = 'provisioning' AND async_deadline_at IS NOT NULL;

      CREATE TABLE addon_attachments (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id),
        app_id uuid NOT NULL REFERENCES apps(id),
        name text NOT NULL,
        namespace text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (app_id, name)
      );
      CREATE INDEX addon_attachments_addon_idx ON addon_attachments (addon_id);

      CREATE TABLE config_vars (
        app_id uuid NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        name text NOT NULL,
        value_sealed text NOT NULL,
        attachment_id uuid REFERENCES addon_attachments(id) ON DELETE CASCADE,
        PRIMARY KEY (app_id, name)
      );
      CREATE INDEX config_vars_attachment_idx ON config_vars (attachment_id) WHERE attachment_id IS NOT NULL;

      CREATE TABLE oauth_grants (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id),
        code_hash text NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        exchanged_at timestamptz
      );
      CREATE INDEX oauth_grants_addon_idx ON oauth_grants (addon_id);

      CREATE TABLE oauth_tokens (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id),
        access_hash text NOT NULL UNIQUE,
        refresh_hash text NOT NULL UNIQUE,
        access_expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE INDEX oauth_tokens_addon_idx ON oauth_tokens (addon_id);

      CREATE TABLE lifecycle_events (
        id bigserial PRIMARY KEY,
        type text NOT NULL,
        addon_id uuid,
        app_id uuid,
        occurred_at timestamptz NOT NULL,
        data jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX lifecycle_events_addon_idx ON lifecycle_events (addon_id, id) WHERE addon_id IS NOT NULL;
      CREATE INDEX lifecycle_events_app_idx ON lifecycle_events (app_id, id) WHERE app_id IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE lifecycle_events;
      DROP TABLE oauth_tokens;
      DROP TABLE oauth_grants;
      DROP TABLE config_vars;
      DROP TABLE addon_attachments;
      DROP TABLE addons;
      DROP TABLE plans;
      DROP TABLE addon_manifests;
      DROP TABLE addon_services;
      DROP TABLE releases;
      DROP TABLE collaborators;
      DROP TABLE apps;
      DROP TABLE regions;
      DROP TABLE api_keys;
      DROP TABLE accounts;
    `);
  }
}
