/**
 * IP address literals in one canonical spelling, so that an address can be
 * compared and counted whatever form a socket, a proxy or an operator wrote
 * it in: IPv4 as dotted decimal, IPv6 as RFC 5952 text (lower case, the
 * longest run of zero groups as "::"), and an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2: how a dual-stack socket reports an
 * IPv4 peer) as the IPv4 address it carries.
 */

/** "::FFFF:10.0.0.1" → "10.0.0.1", "2001:DB8:0:0::1" → "2001:db8::1", "fe80::1%eth0" → "fe80::1"; null if not an IP address. */
export function canonicalIp(text: string): string | null {
  if (text.length > 64) return null; // the longest IPv6 text with a zone is well under this
  const ipv4 = parseIpv4(text);
  if (ipv4) return ipv4.join('.');
  const groups = parseIpv6(text);
  if (!groups) return null;
  if (isIpv4Mapped(groups)) return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return formatIpv6(groups);
}

/**
 * The /64 block of a canonical IPv6 address ("2001:db8:1:2::/64"), the
 * block one host or one home usually gets (RFC 4291 §2.5.1's 64-bit
 * interface identifiers); an IPv4 address unchanged.
 */
export function addressBlock(canonical: string): string {
  const groups = canonical.includes(':') ? parseIpv6(canonical) : null;
  if (!groups) return canonical;
  return `${formatIpv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** 127.0.0.0/8 or ::1 (a canonical address). */
export function isLoopback(canonical: string): boolean {
  return canonical === '::1' || /^127\.\d+\.\d+\.\d+$/.test(canonical);
}

/** Four numbers 0–255 in decimal, no leading zeros (which some parsers read as octal). */
function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** Eight 16-bit groups (RFC 4291 §2.2: "::", an IPv4 tail), or null. A zone ("%eth0") is dropped. */
function parseIpv6(text: string): number[] | null {
  const zone = text.indexOf('%');
  const address = zone >= 0 ? text.slice(0, zone) : text;
  if (!address.includes(':')) return null;
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const groups: number[][] = [];
  for (const [i, side] of [head, tail].entries()) {
    const parsed: number[] = [];
    for (const [j, part] of side.entries()) {
      const last = i === (halves.length === 2 ? 1 : 0) && j === side.length - 1;
      if (last && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (!v4) return null;
        parsed.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) parsed.push(parseInt(part, 16));
      else return null;
    }
    groups.push(parsed);
  }
  const [first, second] = groups as [number[], number[]];
  const given = first.length + second.length;
  if (halves.length === 1) return given === 8 ? first : null;
  if (given > 7) return null; // "::" stands for at least one group
  return [...first, ...new Array<number>(8 - given).fill(0), ...second];
}

function isIpv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run of two or more zero groups (the first if tied) as "::". */
function formatIpv6(groups: readonly number[]): string {
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}
