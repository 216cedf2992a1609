import { Controller, Get, Param, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Response } from 'express';
import { BrowserPrincipal, BrowserSessionGuard, CurrentPrincipal } from '@app/auth';
import { AddonLanding } from '@app/domain';
import { BrowserErrorFilter } from '../http/browser-error.filter';
import { newNonce, sendHtml } from '../http/html-response';
import { addonPageView } from '../views/addon-page.view';
import { vendorSsoView } from '../views/vendor-sso.view';

/**
 * Where the vendor's SSO form may post: its origin, and wherever the vendor then redirects, since
 * browsers hold the redirects after a form post to the page's form-action too (a dashboard on
 * another host is common): any https origin, and for a vendor on plain http (allowed only on
 * loopback while developing) any http origin as well.
 */
const vendorFormActions = (action: string): string[] => {
  const url = new URL(action);
  return url.protocol === 'https:' ? [url.origin, 'https:'] : [url.origin, 'http:', 'https:'];
};

/**
 * Where an add-on's or attachment's `web_url` leads (docs/sso.md): for members of the app, the
 * vendor's dashboard through the signed SSO form, or Attache's own page for first-party add-ons.
 */
@ApiExcludeController()
@Controller('sso/apps/:app/addons/:addon')
@UseFilters(BrowserErrorFilter)
@UseGuards(BrowserSessionGuard)
export class BrowserAddonController {
  constructor(private readonly landing: AddonLanding) {}

  @Get()
  async open(@CurrentPrincipal() principal: BrowserPrincipal, @Param('app') app: string, @Param('addon') addon: string, @Res() res: Response): Promise<void> {
    const page = await this.landing.open(principal.account.id, app, addon);
    const nonce = newNonce();
    const options = { nonce, signedIn: { email: principal.account.email, csrfToken: principal.session.csrfToken } };
    if (page.kind === 'vendor') {
      sendHtml(res, 200, vendorSsoView(page.addon.name, page.service.humanName, page.form, options), nonce, vendorFormActions(page.form.action));
    } else {
      sendHtml(res, 200, addonPageView(page, options), nonce);
    }
  }
}
