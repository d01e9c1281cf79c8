/** Unit specs live beside the code; e2e suites in test/ drive the built server over HTTP. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.jest.json' }];
module.exports = {
  // Servers start as child processes, slowly on a busy machine. jest 30 ignores testTimeout inside a project.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      // The SDK's specs (clients/typescript) run with the server's.
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/clients/typescript/src/**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // Real gateways in front of the server: their own run (`npm run test:gateways`), with the gateways installed.
      testPathIgnorePatterns: ['<rootDir>/test/gateways/'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'gateways',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/gateways/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
};
