import { UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBasicAuth } from '@nestjs/swagger';
import { DeveloperGuard, DeveloperOrPartnerGuard, OptionalDeveloperGuard, PartnerGuard, VendorGuard } from '@app/auth';
import { RateLimitGuard } from './rate-limit.guard';

/** Authentication first, then the rate limit of whoever authenticated. */
export const Developer = () => applyDecorators(UseGuards(DeveloperGuard, RateLimitGuard), ApiBearerAuth());
export const AnyoneOrDeveloper = () => applyDecorators(UseGuards(OptionalDeveloperGuard, RateLimitGuard));
export const DeveloperOrPartner = () => applyDecorators(UseGuards(DeveloperOrPartnerGuard, RateLimitGuard), ApiBearerAuth());
export const Partner = () => applyDecorators(UseGuards(PartnerGuard, RateLimitGuard), ApiBearerAuth());
export const Vendor = () => applyDecorators(UseGuards(VendorGuard, RateLimitGuard), ApiBearerAuth(), ApiBasicAuth());
