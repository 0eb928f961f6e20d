// Checks a JSON value against an OpenAPI 3.0 schema, for the subset Coco's documents use: type,
// properties, required, items, enum, $ref (into the document's components.schemas),
// additionalProperties, pattern, minimum, nullable. `closed` also refuses a property that an
// object schema with `properties` does not list, so that a field an answer gains without its schema
// is found. Returns what is wrong, by JSON path; none when the value fits.

type Schema = Record<string, unknown>;

export interface SchemaCheckOptions {
  /** The document's `components.schemas`, which `$ref`s name. */
  schemas: Readonly<Record<string, Schema>>;
  closed?: boolean;
}

const REF_PREFIX = '#/components/schemas/';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function schemaErrors(value: unknown, schema: Schema, options: SchemaCheckOptions, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.startsWith(REF_PREFIX) ? schema.$ref.slice(REF_PREFIX.length) : undefined;
    const target = name === undefined ? undefined : options.schemas[name];
    if (target === undefined) return [`${at}: $ref ${schema.$ref} names no schema of components.schemas`];
    return schemaErrors(value, target, options, at);
  }
  if (value === null && schema.nullable === true) return [];
  const actual = typeOf(value);
  if (typeof schema.type === 'string' && actual !== schema.type && !(schema.type === 'number' && actual === 'integer')) {
    return [`${at}: is ${actual}, the schema says ${schema.type}`];
  }
  const errors: string[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof schema.pattern === 'string' && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) errors.push(`${at}: ${value} is below ${schema.minimum}`);
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => errors.push(...schemaErrors(item, schema.items as Schema, options, `${at}[${i}]`)));
  if (actual === 'object') errors.push(...objectErrors(value as Record<string, unknown>, schema, options, at));
  return errors;
}

function objectErrors(value: Record<string, unknown>, schema: Schema, options: SchemaCheckOptions, at: string): string[] {
  const errors: string[] = [];
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const name of (schema.required ?? []) as string[]) if (!(name in value)) errors.push(`${at}: required field ${name} is missing`);
  for (const [name, field] of Object.entries(value)) {
    if (properties[name] !== undefined) errors.push(...schemaErrors(field, properties[name], options, `${at}.${name}`));
    else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(field, schema.additionalProperties as Schema, options, `${at}.${name}`));
    else if (schema.additionalProperties === false || (options.closed === true && schema.properties !== undefined && schema.additionalProperties === undefined)) {
      errors.push(`${at}: field ${name} is not in the schema`);
    }
  }
  return errors;
}
