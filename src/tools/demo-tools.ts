// The default model's demo tools (calculator, get_current_time, convert_units): their OpenAI-format definitions
// and real implementations, used by `glm5 chat --tools demo` and the tool-call round-trip tests.

import type { ToolDefinition } from '../text/chat-messages.js';
import { pyJsonDumps } from '../text/py-json.js';

// Exactly the schemas the default model was trained with (train/data/tools.py DEMO_SCHEMAS): the tools block of the
// prompt is this JSON, so any difference in wording moves the prompt away from what the model saw.
export const DEMO_TOOLS: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'calculator',
      description: 'Evaluate an arithmetic expression.',
      parameters: {
        type: 'object',
        properties: { expression: { type: 'string', description: 'Arithmetic expression, e.g. 12 * (3 + 4)' } },
        required: ['expression'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_current_time',
      description: 'Get the current local time in a time zone.',
      parameters: {
        type: 'object',
        properties: { timezone: { type: 'string', description: 'IANA time zone name, e.g. Europe/Paris' } },
        required: ['timezone'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'convert_units',
      description: 'Convert a value from one unit to another.',
      parameters: {
        type: 'object',
        properties: {
          value: { type: 'number', description: 'The value to convert' },
          from_unit: { type: 'string', description: 'Unit to convert from, e.g. mile' },
          to_unit: { type: 'string', description: 'Unit to convert to, e.g. kilometer' },
        },
        required: ['value', 'from_unit', 'to_unit'],
      },
    },
  },
];

/** A small recursive-descent evaluator: numbers, + - * / % ^ (right-assoc), unary minus, parentheses. */
export function calculate(expression: string): number {
  const s = expression.replace(/\s+/g, '').replace(/\*\*/g, '^').replace(/[×x]/g, '*').replace(/÷/g, '/');
  let i = 0;
  const fail = (): never => {
    throw new Error(`cannot evaluate '${expression}' at position ${i}`);
  };
  const atom = (): number => {
    if (s[i] === '(') {
      i++;
      const v = sum();
      if (s[i++] !== ')') fail();
      return v;
    }
    if (s[i] === '-') {
      i++;
      return -power();
    }
    if (s[i] === '+') {
      i++;
      return power();
    }
    const m = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(s.slice(i));
    if (!m) return fail();
    i += m[0].length;
    return Number(m[0]);
  };
  const power = (): number => {
    const b = atom();
    if (s[i] === '^') {
      i++;
      return b ** power();
    }
    return b;
  };
  const product = (): number => {
    let v = power();
    while (s[i] === '*' || s[i] === '/' || s[i] === '%') {
      const op = s[i++];
      const r = power();
      v = op === '*' ? v * r : op === '/' ? v / r : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (s[i] === '+' || s[i] === '-') {
      const op = s[i++];
      const r = product();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  if (s === '') fail();
  const v = sum();
  if (i !== s.length) fail();
  return v;
}

// Linear units as factors to a base unit per dimension; temperature is affine and handled apart.
const UNITS: Record<string, [dimension: string, factor: number]> = {
  m: ['length', 1],
  meter: ['length', 1],
  meters: ['length', 1],
  km: ['length', 1000],
  kilometer: ['length', 1000],
  kilometers: ['length', 1000],
  cm: ['length', 0.01],
  mm: ['length', 0.001],
  mi: ['length', 1609.344],
  mile: ['length', 1609.344],
  miles: ['length', 1609.344],
  ft: ['length', 0.3048],
  foot: ['length', 0.3048],
  feet: ['length', 0.3048],
  in: ['length', 0.0254],
  inch: ['length', 0.0254],
  inches: ['length', 0.0254],
  yd: ['length', 0.9144],
  yard: ['length', 0.9144],
  yards: ['length', 0.9144],
  kg: ['mass', 1],
  kilogram: ['mass', 1],
  kilograms: ['mass', 1],
  g: ['mass', 0.001],
  gram: ['mass', 0.001],
  grams: ['mass', 0.001],
  lb: ['mass', 0.45359237],
  lbs: ['mass', 0.45359237],
  pound: ['mass', 0.45359237],
  pounds: ['mass', 0.45359237],
  oz: ['mass', 0.028349523125],
  ounce: ['mass', 0.028349523125],
  ounces: ['mass', 0.028349523125],
  l: ['volume', 1],
  liter: ['volume', 1],
  liters: ['volume', 1],
  ml: ['volume', 0.001],
  gal: ['volume', 3.785411784],
  gallon: ['volume', 3.785411784],
  gallons: ['volume', 3.785411784],
  centimeter: ['length', 0.01],
  centimeters: ['length', 0.01],
  milliliter: ['volume', 0.001],
  milliliters: ['volume', 0.001],
  s: ['time', 1],
  sec: ['time', 1],
  second: ['time', 1],
  seconds: ['time', 1],
  min: ['time', 60],
  minute: ['time', 60],
  minutes: ['time', 60],
  h: ['time', 3600],
  hour: ['time', 3600],
  hours: ['time', 3600],
  day: ['time', 86400],
  days: ['time', 86400],
  'm/s': ['speed', 1],
  'km/h': ['speed', 1 / 3.6],
  kph: ['speed', 1 / 3.6],
  mph: ['speed', 0.44704],
};
const TEMPS: Record<string, string> = { c: 'C', celsius: 'C', '°c': 'C', f: 'F', fahrenheit: 'F', '°f': 'F', k: 'K', kelvin: 'K' };

export function convertUnits(value: number, from: string, to: string): number {
  const f = from.trim().toLowerCase();
  const t = to.trim().toLowerCase();
  if (TEMPS[f] && TEMPS[t]) {
    const c = TEMPS[f] === 'C' ? value : TEMPS[f] === 'F' ? ((value - 32) * 5) / 9 : value - 273.15;
    return TEMPS[t] === 'C' ? c : TEMPS[t] === 'F' ? (c * 9) / 5 + 32 : c + 273.15;
  }
  const a = UNITS[f];
  const b = UNITS[t];
  if (!a) throw new Error(`unknown unit '${from}'`);
  if (!b) throw new Error(`unknown unit '${to}'`);
  if (a[0] !== b[0]) throw new Error(`cannot convert ${a[0]} (${from}) to ${b[0]} (${to})`);
  return (value * a[1]) / b[1];
}

/** ISO local time with the zone's offset, e.g. 2026-12-01T14:05:00+01:00. */
function localIso(now: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const local = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  const off = Math.round((local - Math.floor(now.getTime() / 1000) * 1000) / 60000);
  const sign = off >= 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${sign}${hh}:${mm}`;
}

/** Runs a demo tool; the JSON result (as the model was trained to read it) or `{"error": …}` is sent back. */
export function runDemoTool(name: string, args: Record<string, unknown>, now: Date = new Date()): string {
  try {
    switch (name) {
      case 'calculator':
        return pyJsonDumps({ result: calculate(String(args.expression ?? '')) });
      case 'get_current_time': {
        const tz = typeof args.timezone === 'string' && args.timezone !== '' ? args.timezone : 'UTC';
        return pyJsonDumps({ timezone: tz, time: localIso(now, tz) });
      }
      case 'convert_units': {
        const v = convertUnits(Number(args.value), String(args.from_unit ?? ''), String(args.to_unit ?? ''));
        return pyJsonDumps({ value: Math.round(v * 1e4) / 1e4, unit: String(args.to_unit) });
      }
      default:
        return pyJsonDumps({ error: `unknown tool '${name}'` });
    }
  } catch (e) {
    return pyJsonDumps({ error: (e as Error).message });
  }
}
