/**
 * The whole number of UNIT in the environment variable NAME, or undefined when it is unset (the
 * app's default then holds). Anything else than a whole number above 0 stops the server with
 * a message that names the variable.
 */
export function wholeNumberFromEnv(name: string, unit: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === "") return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new Error(`${name} must be a whole number of ${unit}, not "${value}".`);
  }
  return number;
}
