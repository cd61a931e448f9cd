// TRUST_PROXY as Express reads "trust proxy": "true", a number of proxies in front ("1"), or
// addresses and names ("loopback", "10.0.0.0/8"). Unset: trust no proxy.
export function trustProxyFromEnv(value = process.env.TRUST_PROXY) {
  if (value === undefined || value === "") return undefined;
  if (value === "true" || value === "false") return value === "true";
  return /^\d+$/.test(value) ? Number(value) : value;
}
