import { Global, Module } from '@nestjs/common';
import { DomainModule, JobDispatcher, PasswordsModule, ProvisionerRegistry } from '@app/domain';
import { BrowserSessionPersistenceModule, DomainOptionsModule, PersistenceModule } from '@app/persistence';
import { KafkaAdapterModule, PostgresAdapterModule, RedisAdapterModule } from '@app/provisioners';

/** Admin commands change state directly; they never enqueue provider work. */
class NoJobs extends JobDispatcher {
  private refuse(): never {
    throw new Error('The admin CLI does not run add-on jobs; use the API.');
  }
  provision(): Promise<void> {
    this.refuse();
  }
  changePlan(): Promise<void> {
    this.refuse();
  }
  deprovision(): Promise<void> {
    this.refuse();
  }
  postgresBackup(): Promise<void> {
    this.refuse();
  }
  postgresRestore(): Promise<void> {
    this.refuse();
  }
}

class NoProvisioners extends ProvisionerRegistry {
  forService(): never {
    throw new Error('The admin CLI does not call providers.');
  }
}

@Global()
@Module({
  providers: [
    { provide: JobDispatcher, useClass: NoJobs },
    { provide: ProvisionerRegistry, useClass: NoProvisioners },
  ],
  exports: [JobDispatcher, ProvisionerRegistry],
})
class CliPortsModule {}

@Module({ imports: [PersistenceModule, CliPortsModule, PostgresAdapterModule, RedisAdapterModule, KafkaAdapterModule, DomainOptionsModule, DomainModule, BrowserSessionPersistenceModule, PasswordsModule] })
export class CliModule {}
