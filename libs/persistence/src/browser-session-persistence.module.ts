import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BrowserSessionRepository } from '@app/domain';
import { TypeOrmBrowserSessions } from './repositories/browser-session.typeorm-repository';

/** Passwords and browser sessions in PostgreSQL, for the apps that sign people in (api) or set passwords (cli). */
@Global()
@Module({
  providers: [{ provide: BrowserSessionRepository, inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmBrowserSessions(dataSource) }],
  exports: [BrowserSessionRepository],
})
export class BrowserSessionPersistenceModule {}
