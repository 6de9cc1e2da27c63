// A small CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF or LF,
// newlines inside quotes) for the artifact preview. Stops after maxRows rows
// and says whether there were more.
export interface ParsedCsv { rows: string[][]; truncated: boolean; }

export function parseCsv(text: string, maxRows = Infinity, delimiter = ','): ParsedCsv {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  const n = text.length;
  const endRow = () => { row.push(field); field = ''; rows.push(row); row = []; };
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += ch; i++; continue;
    }
    if (ch === '"' && field === '') { quoted = true; i++; continue; }
    if (ch === delimiter) { row.push(field); field = ''; i++; continue; }
    if (ch === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (ch === '\n' || ch === '\r') {
      endRow(); i++;
      if (rows.length >= maxRows) return { rows, truncated: i < n };
      continue;
    }
    field += ch; i++;
  }
  if (field !== '' || row.length > 0) endRow();
  return { rows, truncated: false };
}
