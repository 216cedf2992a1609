import { Module } from '@nestjs/common';
import { AccountPasswords } from './account-passwords.service';
import { PasswordHasher } from './password-hasher';

/**
 * Passwords alone (the admin CLI sets them). Its port, BrowserSessionRepository, comes from
 * libs/persistence's BrowserSessionPersistenceModule.
 */
@Module({ providers: [PasswordHasher, AccountPasswords], exports: [PasswordHasher, AccountPasswords] })
export class PasswordsModule {}
