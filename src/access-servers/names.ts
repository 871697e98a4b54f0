/** AWS component names of access servers (src/aws/components.ts EXTRA_COMPONENT_PATTERNS matches these). */
export const accessServerComponent = (index: number): string => `access-server-${index}`;
export const accessServerEipComponent = (index: number): string => `access-server-${index}-eip`;
export const ACCESS_SERVER_SG_COMPONENT = 'access-server';
export const ACCESS_SERVER_ROLE_COMPONENT = 'access-server';
