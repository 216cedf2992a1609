export * from './principal';
export * from './guards';
export * from './auth.module';
export * from './browser-auth.module';
export * from './browser-principal';
export * from './browser-session.guard';
export * from './session-cookie';
export * from './sign-in-required.exception';
