import { Injectable } from '@nestjs/common';
import { ConfirmationRequiredError, ConflictError } from '@app/common';
import { AddonService, App, Attachment } from '../shared/models';
import { Store } from '../shared/store.port';
import { colouredAlias, colouredAliasBase, normalizeAlias } from './naming.rules';
import { AddonConfigProjector } from './addon-config.projector';

export interface AliasChoice {
  alias: string;
  /** An attachment that holds the alias now and gives it up (with `confirm`). */
  displaced: Attachment | null;
}

/**
 * Picks the alias of a new attachment (locking the app): the requested one, else the service's default, else a
 * coloured one. Taking an alias or vars already in use needs `confirm` equal to the app name.
 */
@Injectable()
export class AliasChooser {
  constructor(private readonly projector: AddonConfigProjector) {}

  async choose(
    tx: Store,
    app: App,
    service: AddonService,
    requested: string | null | undefined,
    confirm: string | null | undefined,
    addonConfig: Record<string, string>,
  ): Promise<AliasChoice> {
    const confirmed = confirm === app.name;
    // Locks the app for the rest of the transaction: two attaches must not pick the same alias.
    const snapshot = await tx.apps.lockForAttachment(app.id);
    const taken = new Set(snapshot.aliases);
    let alias: string;
    let displaced: Attachment | null = null;
    if (requested) {
      alias = normalizeAlias(requested);
      if (taken.has(alias)) {
        if (!confirmed) {
          throw new ConfirmationRequiredError(
            `The alias ${alias} is already in use on ${app.name}. Re-run with confirm to replace it.`,
          );
        }
        displaced = await tx.attachments.findByAppAndName(app.id, alias);
      }
    } else {
      alias = taken.has(service.defaultAlias)
        ? colouredAlias(colouredAliasBase(service.slug), taken)
        : service.defaultAlias;
    }
    const vars = snapshot.configVars;
    const wanted = new Set(this.projector.varNamesFor(alias, service, addonConfig));
    const overwrittenVars = vars
      .filter((v) => wanted.has(v.name) && v.attachmentId === null)
      .map((v) => v.name);
    const clashWithOtherAttachment = vars.some(
      (v) => wanted.has(v.name) && v.attachmentId !== null && v.attachmentId !== displaced?.id,
    );
    if (clashWithOtherAttachment) {
      throw new ConflictError('config_var_conflict', `Config vars of ${alias} would clash with another add-on on ${app.name}; choose another alias.`);
    }
    if (overwrittenVars.length > 0 && !confirmed) {
      throw new ConfirmationRequiredError(
        `This would overwrite existing config vars on ${app.name}: ${overwrittenVars.join(', ')}. Re-run with confirm to proceed.`,
      );
    }
    return { alias, displaced };
  }
}
