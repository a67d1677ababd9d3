/** Every write is made as this field manager, so re-applies own the same fields. */
export const FIELD_MANAGER_NAME = "mathison-install";
