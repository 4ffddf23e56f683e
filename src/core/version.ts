// The version, in one place (package.json says the same; a test checks).
export const SERVER_NAME = 'sluice';
export const SERVER_VERSION = '0.1.0';
